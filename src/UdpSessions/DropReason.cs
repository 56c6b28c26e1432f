namespace UdpSessions;

/// <summary>Why a received datagram was not delivered to the application. Every such datagram is counted.</summary>
public enum DropReason
{
    /// <summary>Larger than <see cref="SessionServerOptions.MaxDatagramSize"/> (seen whole through MSG_TRUNC).</summary>
    Oversized = 0,

    /// <summary>From an unknown peer while <see cref="SessionServerOptions.MaxSessions"/> sessions were open.</summary>
    SessionLimit,

    /// <summary>The session's async receive queue was full (async API only).</summary>
    ReceiveQueueFull,

    /// <summary>The datagram's session closed while the datagram was being handed to it.</summary>
    SessionClosed,

    /// <summary>TCP: the peer closed the connection in the middle of a frame; the partial frame is counted here.</summary>
    IncompleteFrame,

    /// <summary>
    /// From an unknown peer while <see cref="SessionServerOptions.MaxNewSessionsPerSecond"/> new sessions had been
    /// created in the last second (token bucket).
    /// </summary>
    NewSessionRateLimit,

    /// <summary>
    /// From an unknown peer whose source prefix (<see cref="SessionServerOptions.SourcePrefixLengthIPv4"/> /
    /// <see cref="SessionServerOptions.SourcePrefixLengthIPv6"/>) had used its
    /// <see cref="SessionServerOptions.MaxNewSessionsPerSecondPerSource"/>.
    /// </summary>
    SourceRateLimit,

    /// <summary>The <see cref="SessionServerOptions.AcceptFilter"/> rejected (or threw on) an unknown peer's datagram.</summary>
    AcceptFilterRejected,

    /// <summary>The <see cref="SessionServerOptions.AcceptFilter"/> answered an unknown peer's datagram with a challenge instead.</summary>
    Challenged,

    /// <summary>
    /// Read on another I/O thread's socket for a session of this thread (after the kernel moved the peer between
    /// listeners) while this thread already held its limit of such hand-overs behind a slow handler.
    /// </summary>
    RedirectQueueFull,

    /// <summary>
    /// From an unknown peer while the server drains with no successor to hand it to (<see cref="SessionServer.DrainAsync"/>),
    /// or after the listeners were handed over; a server draining takes no new peer.
    /// </summary>
    Draining,

    /// <summary>
    /// A PROXY protocol header that was not accepted: from a source not in <see cref="ProxyProtocolOptions.AllowedSources"/>,
    /// malformed, missing where one was required, or naming another client than the session's.
    /// </summary>
    ProxyHeaderRejected,
}
