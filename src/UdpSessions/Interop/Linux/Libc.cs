using System.Runtime.InteropServices;

namespace UdpSessions.Interop.Linux;

/// <summary>The libc calls of the epoll engine. Every pointer argument points at a blittable struct or pinned memory.</summary>
internal static unsafe partial class Libc
{
    private const string LibC = "libc";

    [LibraryImport(LibC, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(LibC, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(LibC, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(SafeHandle fd, int level, int name, void* value, uint length);

    [LibraryImport(LibC, EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetSockOpt(SafeHandle fd, int level, int name, void* value, uint* length);

    [LibraryImport(LibC, EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(SafeHandle fd, byte* address, uint length);

    [LibraryImport(LibC, EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(SafeHandle fd, byte* address, uint length);

    [LibraryImport(LibC, EntryPoint = "getsockname", SetLastError = true)]
    public static partial int GetSockName(SafeHandle fd, byte* address, uint* length);

    [LibraryImport(LibC, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(SafeHandle fd, byte* buffer, nuint length, int flags);

    [LibraryImport(LibC, EntryPoint = "recvfrom", SetLastError = true)]
    public static partial nint RecvFrom(SafeHandle fd, byte* buffer, nuint length, int flags, byte* address, uint* addressLength);

    [LibraryImport(LibC, EntryPoint = "recvmsg", SetLastError = true)]
    public static partial nint RecvMsg(SafeHandle fd, MsgHdr* message, int flags);

    [LibraryImport(LibC, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(SafeHandle fd, byte* buffer, nuint length, int flags);

    [LibraryImport(LibC, EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMsg(SafeHandle fd, MsgHdr* message, int flags);

    [LibraryImport(LibC, EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(SafeHandle fd, int how);

    [LibraryImport(LibC, EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int RecvMMsg(SafeHandle fd, MMsgHdr* messages, uint count, int flags, void* timeout);

    [LibraryImport(LibC, EntryPoint = "sendmmsg", SetLastError = true)]
    public static partial int SendMMsg(SafeHandle fd, MMsgHdr* messages, uint count, int flags);

    /// <summary>syscall(2): for calls glibc has no wrapper for (membarrier).</summary>
    [LibraryImport(LibC, EntryPoint = "syscall", SetLastError = true)]
    public static partial nint Syscall(nint number, nint argument1, nint argument2, nint argument3);

    [LibraryImport(LibC, EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    [LibraryImport(LibC, EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(SafeHandle epoll, int operation, SafeHandle fd, byte* epollEvent);

    [LibraryImport(LibC, EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(SafeHandle epoll, byte* events, int maxEvents, int timeoutMilliseconds);

    [LibraryImport(LibC, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initialValue, int flags);

    [LibraryImport(LibC, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(SafeHandle fd, void* buffer, nuint length);

    [LibraryImport(LibC, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(SafeHandle fd, void* buffer, nuint length);

    [LibraryImport(LibC, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport(LibC, EntryPoint = "listen", SetLastError = true)]
    public static partial int Listen(SafeHandle fd, int backlog);

    [LibraryImport(LibC, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(SafeHandle fd, int command, int argument);

    [LibraryImport(LibC, EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int GetRLimit(int resource, RLimit* limit);

    [LibraryImport(LibC, EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(SafeHandle fd, byte* address, uint* addressLength, int flags);
}
