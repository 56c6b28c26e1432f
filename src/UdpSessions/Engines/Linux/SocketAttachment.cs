using UdpSessions.Interop.Linux;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// An extra socket that belongs to a session and is served by the session's own I/O loop: registered in that loop's
/// epoll with a tag that leads straight back to this object (<see cref="AttachmentTable"/>), so its readiness runs
/// <see cref="OnReadable"/> on the loop's thread with no lookup and no thread hop. The forwarder's upstream sockets
/// are attachments of their client sessions (see EpollLoop.Attachments.cs).
/// </summary>
/// <remarks>
/// Attaching hands the socket to the loop: it is closed when the attachment is detached, explicitly or because its
/// session closed. Attachments are level-triggered whatever <see cref="EpollMode"/> says, so a callback that reads a
/// bounded amount is called again while data is left.
/// </remarks>
internal abstract class SocketAttachment
{
    /// <summary>The session the socket belongs to (set by the loop when attached).</summary>
    public Session? Session { get; internal set; }

    /// <summary>The attached socket, owned by the loop while <see cref="IsAttached"/>.</summary>
    public SafeFdHandle? Socket { get; internal set; }

    /// <summary>True from a successful attach until the detach.</summary>
    public bool IsAttached => Slot >= 0;

    /// <summary>Index in the loop's <see cref="AttachmentTable"/>, -1 when not attached.</summary>
    internal int Slot { get; set; } = -1;

    /// <summary>The next attachment of the same session (the loop's per-session list).</summary>
    internal SocketAttachment? NextOfSession { get; set; }

    /// <summary>
    /// The socket is readable (or has an error pending: read it to learn which). Runs on the loop's thread, which
    /// lends its receive batch; read a bounded amount (level triggering brings the rest back).
    /// </summary>
    protected internal abstract void OnReadable(ReceiveBatch batch);

    /// <summary>
    /// The socket leaves the loop (detached, or its session closed): it is out of the epoll and still open, so what it
    /// holds can be read and accounted for. Runs on the loop's thread (on the stopping thread when the server stops).
    /// </summary>
    protected internal abstract void OnDetached(ReceiveBatch batch);
}
