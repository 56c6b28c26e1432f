using System.Runtime.InteropServices;

namespace UdpSessions.Cli.Interop.Linux;

/// <summary>The few libc calls of the load generator: epoll for thousands of client sockets, and the fd limit.</summary>
internal static unsafe partial class Libc
{
    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const uint EpollIn = 0x001;
    public const int EpollCloexec = 0x80000;
    public const int RlimitNoFile = 7;

    private const string LibC = "libc";

    [LibraryImport(LibC, EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    [LibraryImport(LibC, EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(SafeHandle epoll, int operation, SafeHandle fd, byte* epollEvent);

    [LibraryImport(LibC, EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(SafeHandle epoll, byte* events, int maxEvents, int timeoutMilliseconds);

    [LibraryImport(LibC, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(LibC, EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int GetRLimit(int resource, RLimit* limit);

    [LibraryImport(LibC, EntryPoint = "setrlimit", SetLastError = true)]
    public static partial int SetRLimit(int resource, RLimit* limit);

    [StructLayout(LayoutKind.Sequential)]
    public struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }
}
