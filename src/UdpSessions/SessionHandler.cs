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

    /// <summary>The session ended; its socket is already closed.</summary>
    public virtual void OnSessionClosed(Session session, SessionCloseReason reason)
    {
    }
}
