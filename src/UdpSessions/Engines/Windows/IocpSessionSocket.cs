using System.Runtime.Versioning;
using UdpSessions.Interop.Windows;

namespace UdpSessions.Engines.Windows;

/// <summary>A session's connected socket and the OVERLAPPED of its zero-byte peek (see <see cref="OverlappedBlocks"/> for who owns it when).</summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class IocpSessionSocket : SafeWinSocketHandle
{
    /// <summary>The peek's OVERLAPPED; replaced only by the thread holding it, when it had to orphan it.</summary>
    public NativeOverlapped* Peek { get; set; }
}
