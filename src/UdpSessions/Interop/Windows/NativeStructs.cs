using System.Runtime.InteropServices;

namespace UdpSessions.Interop.Windows;

/// <summary>WSABUF: a length and a pointer (the length comes first, unlike iovec).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct WsaBuf
{
    public uint Length;
    public byte* Buffer;
}

/// <summary>OVERLAPPED_ENTRY as GetQueuedCompletionStatusEx fills it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct OverlappedEntry
{
    public nuint CompletionKey;
    public NativeOverlapped* Overlapped;
    public nuint Internal;
    public uint BytesTransferred;
}

/// <summary>WSAPOLLFD.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct WsaPollFd
{
    public nint Socket;
    public short Events;
    public short ReturnedEvents;
}
