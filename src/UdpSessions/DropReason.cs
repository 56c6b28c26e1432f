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
}
