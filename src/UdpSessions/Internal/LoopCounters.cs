namespace UdpSessions.Internal;

/// <summary>
/// Counters of one I/O loop. Only that loop's thread writes them (plain increments, no interlocked traffic on the
/// receive path); readers sum all loops and may see values a few microseconds old.
/// </summary>
internal sealed class LoopCounters
{
    public long DatagramsReceived;
    public long BytesReceived;
    public long DatagramsDelivered;
    public long SessionsAccepted;
    public long HandlerErrors;
    public long StraysRerouted;
    public long ListenerLateDatagrams;
    public long LateAfterClose;
    public long SessionsWithoutSocket;
    public long SessionsPromoted;
    public long DatagramsRedirected; // read on this loop's socket for a session of another loop, handed over
    public long ListenerDatagrams; // read from this loop's listening socket
    public long SocketErrors;
    public long DatagramsSent; // sends made on this loop's own thread (from its callbacks)
    public long BytesSent;
    public long ConnectionsRefused; // TCP: accepted by the kernel, refused at the session limit
    public long SessionsKeptForDrain; // given a socket of their own when the server began to drain
    public long SessionsNotKept; // closed when the listeners were handed over or left: no socket of their own to give
    public long DatagramsHandedOver; // new peers' datagrams read while draining, passed to the successor
    public long DatagramsTakenOver; // the predecessor's, received with its listeners

    public long SegmentedSends; // UDP_SEGMENT sends queued by this loop (each carries several datagrams)
    public long SegmentationFallbacks; // UDP_SEGMENT sends the kernel refused, sent again as separate datagrams
    public long CoalescedReads; // UDP_GRO reads that held several datagrams, split before delivery
    public long OversizedSegments; // datagrams of coalesced reads larger than MaxDatagramSize (also in Dropped[Oversized])

    public long ChallengesSent;
    public long ChallengesNotSent;
    public readonly long[] Dropped = new long[Enum.GetValues<DropReason>().Length];
    public readonly long[] Closed = new long[Enum.GetValues<SessionCloseReason>().Length + 1];
}

/// <summary>Counters written by application threads (sends), updated with interlocked adds.</summary>
internal sealed class SendCounters
{
    public long DatagramsSent;
    public long BytesSent;
    public long DroppedSendBufferFull;
    public long DroppedSessionClosed;
    public long DroppedOversized; // larger than MaxSendDatagramSize
    public long Failed;
    public long SegmentedSends;
    public long SegmentationFallbacks;
    public long ReceiveCoalescingRefused; // sockets on which setsockopt(UDP_GRO) failed
}
