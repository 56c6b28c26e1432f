namespace UdpSessions;

public sealed partial class Session
{
    private string? _applicationCloseReason;
    private volatile bool _sayingGoodbye;

    /// <summary>
    /// The reason the application gave to <see cref="Close(string)"/>, or null (still open, closed by
    /// <see cref="Close()"/>, or closed for another <see cref="CloseReason"/>). Read it in
    /// <see cref="SessionHandler.OnSessionClosing"/> or <see cref="SessionHandler.OnSessionClosed"/>; it is also
    /// counted per reason in <see cref="ServerStatistics.ApplicationCloseReasons"/>.
    /// </summary>
    public string? ApplicationCloseReason =>
        CloseReason == SessionCloseReason.ClosedByApplication ? Volatile.Read(ref _applicationCloseReason) : null;

    /// <summary>
    /// Closes the session with <see cref="SessionCloseReason.ClosedByApplication"/> and an application reason
    /// ("kicked", "afk", ...) that <see cref="SessionHandler.OnSessionClosing"/> and
    /// <see cref="SessionHandler.OnSessionClosed"/> read from <see cref="ApplicationCloseReason"/>. The reason is a
    /// metric tag: keep to a small fixed set of words (beyond 64 distinct reasons the rest are counted as "other").
    /// Safe from any thread; the first close of a session wins.
    /// </summary>
    public void Close(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        if (IsOpen)
        {
            Interlocked.CompareExchange(ref _applicationCloseReason, reason, null);
            Close();
        }
    }

    /// <summary>
    /// Sends <paramref name="goodbye"/> to the peer, then closes the session as <see cref="Close(string)"/> does.
    /// The goodbye is sent (or queued in the I/O thread's send batch, which is flushed before the session's socket
    /// goes away) before the close is requested, so it leaves before anything the session's closing sends; like any
    /// datagram it can still be lost on the way. A refused goodbye is counted like any refused send.
    /// </summary>
    public void Close(string reason, ReadOnlySpan<byte> goodbye)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        if (IsOpen)
        {
            Interlocked.CompareExchange(ref _applicationCloseReason, reason, null);
            Send(goodbye);
            Close();
        }
    }

    /// <summary>
    /// True while <see cref="SessionHandler.OnSessionClosing"/> runs: the session is no longer open, but its socket
    /// is still there and sends are let through.
    /// </summary>
    internal bool SayingGoodbye
    {
        get => _sayingGoodbye;
        set => _sayingGoodbye = value;
    }

    /// <summary>True when a send may go out: the session is open, or saying goodbye.</summary>
    internal bool AcceptsSends => IsOpen || _sayingGoodbye;
}
