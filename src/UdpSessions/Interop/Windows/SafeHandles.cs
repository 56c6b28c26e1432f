using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace UdpSessions.Interop.Windows;

/// <summary>
/// Owns a Winsock SOCKET. Native calls take the handle, so the runtime's reference count keeps a socket that one
/// thread is using from being closed (and its value reused) by another.
/// </summary>
[SupportedOSPlatform("windows")]
internal class SafeWinSocketHandle : SafeHandle
{
    public SafeWinSocketHandle()
        : base(invalidHandleValue: -1, ownsHandle: true) // INVALID_SOCKET is ~0
    {
    }

    public override bool IsInvalid => handle == -1 || handle == 0;

    protected override bool ReleaseHandle() => WinSock.CloseSocket(handle) == 0;
}

/// <summary>Owns a kernel handle closed with CloseHandle (the completion port, a thread handle).</summary>
[SupportedOSPlatform("windows")]
internal sealed class SafeKernelHandle : SafeHandle
{
    public SafeKernelHandle()
        : base(invalidHandleValue: 0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0 || handle == -1;

    protected override bool ReleaseHandle() => Kernel32.CloseHandle(handle) != 0;
}
