using System.Runtime.Versioning;
using UdpSessions.Interop.Windows;
using static UdpSessions.Interop.Windows.WindowsConstants;

namespace UdpSessions.Engines.Windows;

/// <summary>
/// Registered I/O detection: SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER with WSAID_MULTIPLE_RIO returns the RIO
/// function table where the provider has one (Windows 8 / Server 2012 and later) and fails where it has not (Wine:
/// WSAEOPNOTSUPP). Only detection is implemented: receives always use the zero-byte peek and WSARecvFrom, see
/// docs/windows.md. A RIO receive path could not be tested on this machine.
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe class RioSupport
{
    // RIO_EXTENSION_FUNCTION_TABLE: a DWORD size and 13 function pointers, 112 bytes on x64; room to spare.
    private const int TableBufferSize = 256;

    /// <summary>True when the socket's provider offers Registered I/O; <paramref name="error"/> says why not otherwise.</summary>
    public static bool IsAvailable(SafeWinSocketHandle socket, out int error)
    {
        Guid id = WSAID_MULTIPLE_RIO;
        byte* table = stackalloc byte[TableBufferSize];
        uint returned = 0;
        if (WinSock.WSAIoctl(socket, SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, &id, (uint)sizeof(Guid), table, TableBufferSize, &returned, null, 0) != 0)
        {
            error = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            return false;
        }

        error = 0;
        return returned > 0;
    }
}
