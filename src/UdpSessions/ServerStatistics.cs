using UdpSessions.Internal;

namespace UdpSessions;

/// <summary>
/// A snapshot of a server's counters. Every datagram read from a socket is either delivered or dropped with a cause:
/// <c>DatagramsReceived == DatagramsDelivered + sum of GetDropped(reason) + DatagramsHandedOver</c> once the server
/// is quiet (the last term is non-zero only on a server that handed its listeners to a successor).
/// </summary>
public sealed class ServerStatistics
{
    private readonly long[] _dropped;
    private readonly long[] _closed;

    internal ServerStatistics(IEnumerable<LoopCounters> loops, SendCounters sends, int activeSessions, ApplicationCloseReasons? closeReasons = null)
    {
        ApplicationCloseReasons = closeReasons?.Snapshot() ?? new Dictionary<string, long>();
        _dropped = new long[Enum.GetValues<DropReason>().Length];
        _closed = new long[Enum.GetValues<SessionCloseReason>().Length + 1];
        ActiveSessions = activeSessions;
        var listenerDatagrams = new List<long>();
        foreach (LoopCounters c in loops)
        {
            listenerDatagrams.Add(Volatile.Read(ref c.ListenerDatagrams));
            SessionsPromoted += Volatile.Read(ref c.SessionsPromoted);
            DatagramsRedirected += Volatile.Read(ref c.DatagramsRedirected);
            DatagramsReceived += Volatile.Read(ref c.DatagramsReceived);
            BytesReceived += Volatile.Read(ref c.BytesReceived);
            DatagramsDelivered += Volatile.Read(ref c.DatagramsDelivered);
            SessionsAccepted += Volatile.Read(ref c.SessionsAccepted);
            HandlerErrors += Volatile.Read(ref c.HandlerErrors);
            StraysRerouted += Volatile.Read(ref c.StraysRerouted);
            ListenerLateDatagrams += Volatile.Read(ref c.ListenerLateDatagrams);
            LateAfterClose += Volatile.Read(ref c.LateAfterClose);
            SessionsWithoutSocket += Volatile.Read(ref c.SessionsWithoutSocket);
            SocketErrors += Volatile.Read(ref c.SocketErrors);
            DatagramsSent += Volatile.Read(ref c.DatagramsSent);
            BytesSent += Volatile.Read(ref c.BytesSent);
            ConnectionsRefused += Volatile.Read(ref c.ConnectionsRefused);
            SessionsKeptForDrain += Volatile.Read(ref c.SessionsKeptForDrain);
            SessionsNotKept += Volatile.Read(ref c.SessionsNotKept);
            DatagramsHandedOver += Volatile.Read(ref c.DatagramsHandedOver);
            DatagramsTakenOver += Volatile.Read(ref c.DatagramsTakenOver);

            SegmentedSends += Volatile.Read(ref c.SegmentedSends);
            SegmentationFallbacks += Volatile.Read(ref c.SegmentationFallbacks);
            CoalescedReads += Volatile.Read(ref c.CoalescedReads);
            OversizedSegmentsDropped += Volatile.Read(ref c.OversizedSegments);

            ChallengesSent += Volatile.Read(ref c.ChallengesSent);
            ChallengesNotSent += Volatile.Read(ref c.ChallengesNotSent);
            Add(_dropped, c.Dropped);
            Add(_closed, c.Closed);
        }

        ListenerDatagramsByThread = listenerDatagrams;
        DatagramsSent += Volatile.Read(ref sends.DatagramsSent);
        BytesSent += Volatile.Read(ref sends.BytesSent);
        SendsDroppedBufferFull = Volatile.Read(ref sends.DroppedSendBufferFull);
        SendsDroppedSessionClosed = Volatile.Read(ref sends.DroppedSessionClosed);
        SendsFailed = Volatile.Read(ref sends.Failed);
        SendsDroppedOversized = Volatile.Read(ref sends.DroppedOversized);
        SegmentedSends += Volatile.Read(ref sends.SegmentedSends);
        SegmentationFallbacks += Volatile.Read(ref sends.SegmentationFallbacks);
        ReceiveCoalescingRefused = Volatile.Read(ref sends.ReceiveCoalescingRefused);
    }

    /// <summary>
    /// Sends that carried several datagrams in one buffer cut by the kernel (UDP_SEGMENT, epoll engine):
    /// <see cref="Session.SendBatch"/> and coalesced replies. Their datagrams are counted in <see cref="DatagramsSent"/>.
    /// </summary>
    public long SegmentedSends { get; }

    /// <summary>
    /// Segmented sends the kernel refused (EIO, EINVAL, ENOPROTOOPT, EOPNOTSUPP: no checksum offload on the route, a
    /// segment over the MTU, an old kernel). Their datagrams were sent again one by one, and the socket sends no more
    /// segmented buffers.
    /// </summary>
    public long SegmentationFallbacks { get; }

    /// <summary>Reads that held several of a peer's datagrams (UDP_GRO), split into them before delivery.</summary>
    public long CoalescedReads { get; }

    /// <summary>
    /// Datagrams of coalesced reads that were larger than <see cref="SessionServerOptions.MaxDatagramSize"/>: each
    /// dropped alone (and counted in <see cref="GetDropped"/> as <see cref="DropReason.Oversized"/> too) while the
    /// other datagrams of the read were delivered.
    /// </summary>
    public long OversizedSegmentsDropped { get; }

    /// <summary>Sockets on which the kernel refused UDP_GRO (before Linux 5.0); they are read a datagram at a time.</summary>
    public long ReceiveCoalescingRefused { get; }

    /// <summary>Sessions open now.</summary>
    public int ActiveSessions { get; }

    /// <summary>Sessions accepted since start.</summary>
    public long SessionsAccepted { get; }

    /// <summary>Sessions closed since start, all reasons.</summary>
    public long SessionsClosed => _closed.Sum();

    /// <summary>Datagrams read from any socket of the server.</summary>
    public long DatagramsReceived { get; }

    /// <summary>Payload bytes of <see cref="DatagramsReceived"/>.</summary>
    public long BytesReceived { get; }

    /// <summary>Datagrams handed to the application (callback invoked, or queued for <c>ReceiveAsync</c>).</summary>
    public long DatagramsDelivered { get; }

    /// <summary>Datagrams received but not delivered, all causes.</summary>
    public long DatagramsDropped => _dropped.Sum();

    /// <summary>Datagrams sent to peers.</summary>
    public long DatagramsSent { get; }

    /// <summary>Payload bytes of <see cref="DatagramsSent"/>.</summary>
    public long BytesSent { get; }

    /// <summary>Sends refused because the socket's send buffer was full (EAGAIN/ENOBUFS).</summary>
    public long SendsDroppedBufferFull { get; }

    /// <summary>Sends refused because the session was closed.</summary>
    public long SendsDroppedSessionClosed { get; }

    /// <summary>Sends that failed with another socket error (each is logged).</summary>
    public long SendsFailed { get; }

    /// <summary>Sends refused because the datagram was larger than <see cref="SessionServerOptions.MaxSendDatagramSize"/>.</summary>
    public long SendsDroppedOversized { get; }

    /// <summary>
    /// Sessions closed with <see cref="Session.Close(string)"/>, by the reason given (part of
    /// <see cref="GetClosed"/>(<see cref="SessionCloseReason.ClosedByApplication"/>); plain <see cref="Session.Close()"/>
    /// is not listed). At most 64 distinct reasons are kept; later new ones are counted as "other".
    /// </summary>
    public IReadOnlyDictionary<string, long> ApplicationCloseReasons { get; }

    /// <summary>Exceptions thrown by application callbacks (each closed its session).</summary>
    public long HandlerErrors { get; }

    /// <summary>Datagrams of other peers that landed on a new session socket in its bind-to-connect window and were re-routed.</summary>
    public long StraysRerouted { get; }

    /// <summary>Datagrams of a session with its own socket that were still queued on the listener and were routed to it.</summary>
    public long ListenerLateDatagrams { get; }

    /// <summary>
    /// Datagrams the kernel queued on a closed session's socket after its last drain (a lookup still in flight when
    /// the socket was disconnected), read before close() and routed like the rest of its leftovers.
    /// </summary>
    public long LateAfterClose { get; }

    /// <summary>
    /// Sessions that were to get a connected socket of their own (<see cref="SessionPlacement.OwnSocket"/>, an adaptive
    /// promotion, the IOCP engine) but got none: the socket budget was spent or no fd was left. They are served through
    /// the listener with the same API.
    /// </summary>
    public long SessionsWithoutSocket { get; }

    /// <summary>
    /// Sessions that were given a connected socket of their own after they started on the listener (epoll engine:
    /// <see cref="SessionServerOptions.Placement"/>).
    /// </summary>
    public long SessionsPromoted { get; }

    /// <summary>
    /// Datagrams read by one I/O thread for a session that belongs to another and handed over to it (the kernel
    /// moved the peer to another listener, e.g. when the listening group changed).
    /// </summary>
    public long DatagramsRedirected { get; }

    /// <summary>Datagrams read from each I/O thread's listening socket, by thread (epoll: one listener per thread).</summary>
    public IReadOnlyList<long> ListenerDatagramsByThread { get; }

    /// <summary>Unexpected socket errors (each is logged).</summary>
    public long SocketErrors { get; }

    /// <summary>TCP: connections closed right after accept because <see cref="SessionServerOptions.MaxSessions"/> sessions were open.</summary>
    public long ConnectionsRefused { get; }

    /// <summary>Challenges of the accept filter sent from the listening socket (not in <see cref="DatagramsSent"/>).</summary>
    public long ChallengesSent { get; }

    /// <summary>Challenges the listening socket refused (send buffer full, or another error); the peer may simply retry.</summary>
    public long ChallengesNotSent { get; }

    /// <summary>
    /// Draining (epoll engine): sessions that were on the listeners when the drain began and were given a connected
    /// socket of their own, so that they keep receiving after the listeners are handed over or left.
    /// </summary>
    public long SessionsKeptForDrain { get; }

    /// <summary>
    /// Draining: sessions that could get no socket of their own (an IPv4 wildcard listener, a kernel before 6.13, no
    /// fd left, a listener without SO_REUSEPORT) and were closed (<see cref="SessionCloseReason.ServerShutdown"/>)
    /// when the listeners were handed over or left; their peers' next datagrams start sessions wherever the port's
    /// traffic goes then (the successor).
    /// </summary>
    public long SessionsNotKept { get; }

    /// <summary>
    /// Draining towards a successor: new peers' datagrams read from the listeners before they were handed over, passed
    /// to the successor with them (counted in <see cref="DatagramsReceived"/>, neither delivered nor dropped here).
    /// </summary>
    public long DatagramsHandedOver { get; }

    /// <summary>Datagrams the predecessor read for new peers and passed on with its listeners (counted in <see cref="DatagramsReceived"/>).</summary>
    public long DatagramsTakenOver { get; }

    /// <summary>Datagrams dropped for <paramref name="reason"/>.</summary>
    public long GetDropped(DropReason reason) => _dropped[(int)reason];

    /// <summary>Sessions closed for <paramref name="reason"/>.</summary>
    public long GetClosed(SessionCloseReason reason) => _closed[(int)reason];

    /// <inheritdoc />
    public override string ToString() =>
        $"active={ActiveSessions} accepted={SessionsAccepted} closed={SessionsClosed} received={DatagramsReceived} " +
        $"delivered={DatagramsDelivered} dropped={DatagramsDropped} sent={DatagramsSent} strays={StraysRerouted} " +
        $"late={ListenerLateDatagrams} withoutSocket={SessionsWithoutSocket} promoted={SessionsPromoted} redirected={DatagramsRedirected} " +
        $"handlerErrors={HandlerErrors} sendsFailed={SendsFailed} segmentedSends={SegmentedSends} " +
        $"segmentationFallbacks={SegmentationFallbacks} coalescedReads={CoalescedReads}";

    private static void Add(long[] total, long[] part)
    {
        for (int i = 0; i < total.Length; i++)
        {
            total[i] += Volatile.Read(ref part[i]);
        }
    }
}
