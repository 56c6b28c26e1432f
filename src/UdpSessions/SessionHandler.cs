namespace UdpSessions;

/// <summary>
/// Callbacks for the zero-allocation path. They run on the session's I/O thread, never two at once for one session,
/// so per-session state needs no lock. An exception thrown from a callback closes only that session
/// (<see cref="SessionCloseReason.Error"/>), is logged and counted, and the I/O thread keeps running.
/// Do not block in a callback: every session of that I/O thread waits for it.
/// </summary>
public abstract class SessionHandler
{
    /// <summary>A new peer was accepted; its first datagram follows in <see cref="OnDatagram"/>.</summary>
    public virtual void OnSessionAccepted(Session session)
    {
    }

    /// <summary>
    /// A datagram arrived. <paramref name="datagram"/> points into the I/O thread's receive buffer and is valid only
    /// until this method returns; copy what you keep. It may be empty (a zero-length datagram is valid UDP).
    /// </summary>
    public abstract void OnDatagram(Session session, ReadOnlySpan<byte> datagram);

    /// <summary>Delivers one datagram; false means the handler dropped it (counted by the engine as a drop).</summary>
    internal virtual bool Deliver(Session session, ReadOnlySpan<byte> datagram)
    {
        OnDatagram(session, datagram);
        return true;
    }

    /// <summary>Why the last <see cref="Deliver"/> on this thread returned false (a layer may refuse for a cause of its own).</summary>
    internal virtual DropReason TakeRefusalReason() => DropReason.ReceiveQueueFull;

    /// <summary>
    /// The session is closing (any reason: idle timeout, <see cref="Session.Close()"/>, server shutdown, error) and
    /// its socket is still there: the place for a goodbye. <see cref="Session.Send"/> still works here (the I/O
    /// thread's send batch is flushed before the socket goes away), although <see cref="Session.IsOpen"/> is already
    /// false and <see cref="Session.CloseReason"/> (and <see cref="Session.ApplicationCloseReason"/>) say why. The
    /// session has left the server's <see cref="SessionServer.Sessions"/> and every <see cref="SessionGroup"/>; its
    /// posted work and timers no longer run. Runs on the session's I/O thread (at server shutdown, on the stopping
    /// thread once the I/O threads have ended), once, right before <see cref="OnSessionClosed"/>. An exception is
    /// logged and counted in <see cref="ServerStatistics.HandlerErrors"/>; the close goes on.
    /// </summary>
    public virtual void OnSessionClosing(Session session, SessionCloseReason reason)
    {
    }

    /// <summary>The session ended; its socket is already closed (sends fail now; say goodbye in <see cref="OnSessionClosing"/>).</summary>
    public virtual void OnSessionClosed(Session session, SessionCloseReason reason)
    {
    }
}
