using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace UdpSessions.Interop.Windows;

/// <summary>The ws2_32 calls of the IOCP engine. Every pointer argument points at a blittable struct or pinned/native memory.</summary>
[SupportedOSPlatform("windows")]
internal static unsafe partial class WinSock
{
    private const string Ws2_32 = "ws2_32.dll";

    [LibraryImport(Ws2_32, SetLastError = true)]
    public static partial int WSAStartup(ushort version, byte* data);

    [LibraryImport(Ws2_32, SetLastError = true)]
    public static partial int WSACleanup();

    [LibraryImport(Ws2_32, SetLastError = true)]
    public static partial SafeWinSocketHandle WSASocketW(int addressFamily, int type, int protocol, void* protocolInfo, uint group, uint flags);

    [LibraryImport(Ws2_32, EntryPoint = "closesocket", SetLastError = true)]
    public static partial int CloseSocket(nint socket);

    [LibraryImport(Ws2_32, EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(SafeHandle socket, byte* address, int length);

    [LibraryImport(Ws2_32, EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(SafeHandle socket, byte* address, int length);

    [LibraryImport(Ws2_32, EntryPoint = "getsockname", SetLastError = true)]
    public static partial int GetSockName(SafeHandle socket, byte* address, int* length);

    [LibraryImport(Ws2_32, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(SafeHandle socket, int level, int name, byte* value, int length);

    [LibraryImport(Ws2_32, EntryPoint = "ioctlsocket", SetLastError = true)]
    public static partial int IoctlSocket(SafeHandle socket, int command, uint* argument);

    [LibraryImport(Ws2_32, SetLastError = true)]
    public static partial int WSAIoctl(
        SafeHandle socket, uint code, void* input, uint inputLength, void* output, uint outputLength, uint* bytesReturned,
        NativeOverlapped* overlapped, nint completionRoutine);

    [LibraryImport(Ws2_32, SetLastError = true)]
    public static partial int WSARecv(
        SafeHandle socket, WsaBuf* buffers, uint bufferCount, uint* bytesReceived, uint* flags, NativeOverlapped* overlapped, nint completionRoutine);

    [LibraryImport(Ws2_32, SetLastError = true)]
    public static partial int WSARecvFrom(
        SafeHandle socket, WsaBuf* buffers, uint bufferCount, uint* bytesReceived, uint* flags, byte* from, int* fromLength,
        NativeOverlapped* overlapped, nint completionRoutine);

    [LibraryImport(Ws2_32, EntryPoint = "send", SetLastError = true)]
    public static partial int Send(SafeHandle socket, byte* buffer, int length, int flags);

    [LibraryImport(Ws2_32, EntryPoint = "sendto", SetLastError = true)]
    public static partial int SendTo(SafeHandle socket, byte* buffer, int length, int flags, byte* to, int toLength);

    [LibraryImport(Ws2_32, SetLastError = true)]
    public static partial int WSAPoll(WsaPollFd* fds, uint count, int timeoutMilliseconds);
}
