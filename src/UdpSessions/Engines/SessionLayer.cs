namespace UdpSessions.Engines;

/// <summary>
/// A protocol between the engine and the application on one session (DTLS): what the application sends passes
/// through it (to be protected) before it reaches the socket, and what the peer sends reaches it first through the
/// <see cref="SessionHandler"/> that wraps the application's. Set once, before the session's first callback.
/// </summary>
internal abstract class SessionLayer
{
    /// <summary>
    /// One send attempt of application data; any thread. The layer hands what goes on the wire to
    /// <see cref="UdpEngine.TrySendRaw"/> and reports its status.
    /// </summary>
    public abstract SendStatus TrySend(Session session, ReadOnlySpan<byte> datagram);

    /// <summary>The application asked to close the session (any thread), before the close is requested: a goodbye to the peer goes here.</summary>
    public virtual void OnApplicationClose(Session session)
    {
    }
}
