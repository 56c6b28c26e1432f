namespace UdpSessions;

/// <summary>
/// Why a <see cref="UdpForwarder"/> did not forward a datagram it had in hand. Every such datagram is counted; what the
/// client-side server itself drops (oversized, session limit, rate limits) is in its <see cref="ServerStatistics"/>.
/// </summary>
public enum ForwardDropReason
{
    /// <summary>A client's datagram waited longer than <see cref="UdpForwarderOptions.UpstreamSocketWait"/> (or beyond the held-bytes limit) for a socket toward the upstream: the process had no fd left.</summary>
    NoUpstreamSocket = 0,

    /// <summary>The upstream socket's send buffer was full (EAGAIN/ENOBUFS).</summary>
    UpstreamSendBufferFull,

    /// <summary>The client's datagram with the PROXY header was larger than a UDP datagram can be.</summary>
    RequestTooLarge,

    /// <summary>Sending to the upstream failed with another error (logged), or the upstream refused it (ICMP) twice.</summary>
    UpstreamSendFailed,

    /// <summary>A reply larger than <see cref="SessionServerOptions.MaxDatagramSize"/>.</summary>
    ResponseOversized,

    /// <summary>A reply beyond <see cref="UdpForwarderOptions.ResponsesPerRequest"/> per request (an upstream flooding a client).</summary>
    UnexpectedResponse,

    /// <summary>A reply that came from an address that is not an upstream (round robin: the socket is unconnected).</summary>
    UnknownSource,

    /// <summary>A reply still queued on the upstream socket when its client session closed.</summary>
    ResponseAfterClose,

    /// <summary>The client session refused the reply (its send buffer was full, or it was closing).</summary>
    ClientSendRefused,
}
