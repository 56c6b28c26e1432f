namespace UdpSessions.Dtls;

/// <summary>
/// Why a DTLS record was not used. Every record the DTLS layer reads is delivered to the application, consumed by the
/// handshake or as an alert, or dropped with one of these causes (see <see cref="DtlsStatistics"/>).
/// </summary>
public enum DtlsDropReason
{
    /// <summary>A record already received, or older than the anti-replay window (64 records).</summary>
    Replayed = 0,

    /// <summary>Authentication failed: forged, altered, or protected with other keys.</summary>
    BadMac,

    /// <summary>Shorter than its header says, or too short to hold a protected record.</summary>
    Truncated,

    /// <summary>Not a DTLS 1.0/1.2 record (unknown version or content type, bad inner plaintext).</summary>
    Malformed,

    /// <summary>Its plaintext would exceed 2^14 bytes (RFC 6347), or it carries a connection ID of the wrong length.</summary>
    Oversized,

    /// <summary>An epoch the session is not reading (e.g. application data in epoch 0, or epoch 2 and later).</summary>
    WrongEpoch,

    /// <summary>A content type not allowed in the session's state (e.g. a plaintext alert after the handshake).</summary>
    UnexpectedRecord,

    /// <summary>The handshake in progress had too many records waiting for it.</summary>
    HandshakeQueueFull,

    /// <summary>Queued for a handshake that failed, timed out or was closed before reading it.</summary>
    HandshakeAbandoned,

    /// <summary>Application data for the async API whose session queue was full.</summary>
    ReceiveQueueFull,

    /// <summary>A ClientHello without a cookie: answered with a HelloVerifyRequest, nothing created.</summary>
    CookieMissing,

    /// <summary>A ClientHello whose cookie is not valid for its sender (forged, expired or another peer's): answered with a new HelloVerifyRequest.</summary>
    CookieInvalid,

    /// <summary>The first datagram of an unknown peer was not a complete DTLS ClientHello record.</summary>
    NotClientHello,

    /// <summary>A valid ClientHello while <see cref="DtlsOptions.MaxConcurrentHandshakes"/> handshakes were in progress.</summary>
    HandshakeLimit,
}
