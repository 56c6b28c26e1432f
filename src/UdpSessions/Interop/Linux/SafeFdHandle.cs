using System.Runtime.InteropServices;

namespace UdpSessions.Interop.Linux;

/// <summary>
/// Owns a Linux file descriptor. Native calls take the handle, not the number, so the runtime's reference count keeps
/// a descriptor that one thread is reading from being closed (and its number reused) by another.
/// </summary>
internal sealed class SafeFdHandle : SafeHandle
{
    public SafeFdHandle()
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    public SafeFdHandle(int fd)
        : base(invalidHandleValue: -1, ownsHandle: true) => SetHandle(fd);

    /// <summary>A handle on <paramref name="fd"/> that closes it only if <paramref name="ownsHandle"/> (a borrowed fd is only looked at).</summary>
    public SafeFdHandle(int fd, bool ownsHandle)
        : base(invalidHandleValue: -1, ownsHandle) => SetHandle(fd);

    public override bool IsInvalid => handle == -1;

    public int Fd => (int)handle;

    /// <summary>
    /// Set once the kernel refused a UDP_SEGMENT send on this socket (no checksum offload on the route, an old kernel):
    /// its later batches go out as separate datagrams. See Engines/Linux/UdpSegmentation.
    /// </summary>
    public bool SegmentationRefused { get; set; }

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}
