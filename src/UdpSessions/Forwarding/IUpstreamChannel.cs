namespace UdpSessions.Forwarding;

/// <summary>
/// A client session's socket toward the upstreams: connected to one upstream (consistent hashing), or unconnected and
/// addressed per datagram (round robin). The epoll engine's is a <see cref="Engines.Linux.SocketAttachment"/> of the
/// session (<see cref="EpollUpstreamChannel"/>); other engines use a .NET socket (<see cref="SocketUpstreamChannel"/>).
/// Replies go to <see cref="ForwardedSession.OnResponse"/>.
/// </summary>
internal interface IUpstreamChannel
{
    /// <summary>Sends <paramref name="header"/> (may be empty) followed by <paramref name="payload"/> as one datagram to <paramref name="target"/>.</summary>
    UpstreamSendResult Send(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, Upstream target, out int errno);

    /// <summary>Reads what is still queued (handed to the session like any reply), then closes the socket. Idempotent.</summary>
    void Close();
}

/// <summary>What became of one send toward an upstream.</summary>
internal enum UpstreamSendResult
{
    Sent,
    WouldBlock,

    /// <summary>ECONNREFUSED: an ICMP port unreachable of an earlier datagram was reported here; this one was not sent.</summary>
    Refused,
    TooLarge,
    Failed,
}
