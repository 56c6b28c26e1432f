namespace UdpSessions;

/// <summary>Why a session ended.</summary>
public enum SessionCloseReason
{
    /// <summary>No datagram arrived from the peer for <see cref="SessionServerOptions.IdleTimeout"/>.</summary>
    IdleTimeout = 1,

    /// <summary>The application called <see cref="Session.Close()"/> or disposed the session.</summary>
    ClosedByApplication,

    /// <summary>The server was stopped or disposed.</summary>
    ServerShutdown,

    /// <summary>
    /// The peer's host answered with ICMP port unreachable (ECONNREFUSED on Linux, WSAECONNRESET on Windows).
    /// </summary>
    PeerUnreachable,

    /// <summary>A socket error, or an exception thrown by application code handling this session.</summary>
    Error,

    /// <summary>A configured limit was reached (for example the async accept backlog was full).</summary>
    LimitReached,

    /// <summary>TCP: the peer announced a frame larger than <see cref="TcpOptions.MaxFrameSize"/>.</summary>
    FrameTooLarge,

    /// <summary>
    /// TCP: the peer closed its side of the connection (FIN) and every message it sent was delivered. Replies already
    /// queued are written before the socket closes.
    /// </summary>
    PeerClosed,

    /// <summary>TCP: the connection was reset (RST, ECONNRESET or EPIPE).</summary>
    PeerReset,

    /// <summary>DTLS: the peer sent close_notify (the server answered with its own).</summary>
    DtlsCloseNotify,

    /// <summary>DTLS: the peer sent a fatal alert (its description is in <see cref="Dtls.DtlsSessionInfo.ReceivedAlert"/>).</summary>
    DtlsFatalAlert,

    /// <summary>DTLS: the peer started a new handshake from the same address (RFC 6347 4.2.8); a new session replaces this one.</summary>
    DtlsPeerRestarted,

    /// <summary>DTLS: the handshake failed (the application never saw the session; counted in the server's statistics).</summary>
    DtlsHandshakeFailed,

    /// <summary>DTLS: the handshake did not complete within <see cref="Dtls.DtlsOptions.HandshakeTimeout"/> (never seen by the application).</summary>
    DtlsHandshakeTimeout,
}
