using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace UdpSessions.Interop.Windows;

/// <summary>The kernel32 calls of the IOCP engine: the completion port, its notification modes and thread wake-ups.</summary>
[SupportedOSPlatform("windows")]
internal static unsafe partial class Kernel32
{
    private const string Kernel32Dll = "kernel32.dll";

    [LibraryImport(Kernel32Dll, EntryPoint = "CreateIoCompletionPort", SetLastError = true)]
    public static partial SafeKernelHandle CreateIoCompletionPort(nint fileHandle, nint existingPort, nuint completionKey, uint concurrentThreads);

    /// <summary>CreateIoCompletionPort in its second role: associates a handle with an existing port. Returns the port, or 0.</summary>
    [LibraryImport(Kernel32Dll, EntryPoint = "CreateIoCompletionPort", SetLastError = true)]
    public static partial nint AssociateWithPort(SafeHandle fileHandle, SafeHandle existingPort, nuint completionKey, uint concurrentThreads);

    [LibraryImport(Kernel32Dll, SetLastError = true)]
    public static partial int GetQueuedCompletionStatusEx(
        SafeHandle port, OverlappedEntry* entries, uint count, uint* removed, uint milliseconds, int alertable);

    [LibraryImport(Kernel32Dll, SetLastError = true)]
    public static partial int PostQueuedCompletionStatus(SafeHandle port, uint bytesTransferred, nuint completionKey, NativeOverlapped* overlapped);

    [LibraryImport(Kernel32Dll, SetLastError = true)]
    public static partial int SetFileCompletionNotificationModes(SafeHandle fileHandle, byte flags);

    [LibraryImport(Kernel32Dll, SetLastError = true)]
    public static partial int CloseHandle(nint handle);

    [LibraryImport(Kernel32Dll)]
    public static partial uint GetCurrentThreadId();

    [LibraryImport(Kernel32Dll, SetLastError = true)]
    public static partial SafeKernelHandle OpenThread(uint desiredAccess, int inheritHandle, uint threadId);

    [LibraryImport(Kernel32Dll, SetLastError = true)]
    public static partial uint QueueUserAPC(delegate* unmanaged<nuint, void> function, SafeHandle thread, nuint data);
}
