using UdpSessions.Forwarding;

namespace UdpSessions;

/// <summary>
/// A snapshot of a <see cref="UdpForwarder"/>'s counters. The client side is <see cref="Server"/> (sessions, datagrams
/// from and to clients, what the server dropped). Toward the upstreams, every client datagram the forwarder was handed
/// is forwarded, held for a socket, or dropped with a cause, and every datagram read from an upstream socket is
/// forwarded or dropped with a cause:
/// <c>Server.DatagramsDelivered == Requests + DatagramsWaitingForSocket + request drops</c> and
/// <c>ResponsesReceived == ResponsesForwarded + response drops</c> once traffic is quiet.
/// </summary>
public sealed class ForwarderStatistics
{
    private readonly long[] _dropped = new long[Enum.GetValues<ForwardDropReason>().Length];

    internal ForwarderStatistics(ForwardingHandler forwarder, ServerStatistics server)
    {
        Server = server;
        foreach (ForwardCounters c in forwarder.LoopCounters.Append(forwarder.SharedCounters))
        {
            Requests += Volatile.Read(ref c.Requests);
            RequestBytes += Volatile.Read(ref c.RequestBytes);
            ResponsesReceived += Volatile.Read(ref c.Responses);
            ResponseBytesReceived += Volatile.Read(ref c.ResponseBytes);
            ResponsesForwarded += Volatile.Read(ref c.ResponsesForwarded);
            ResponseBytesForwarded += Volatile.Read(ref c.ResponseBytesForwarded);
            UpstreamSessionsOpened += Volatile.Read(ref c.UpstreamSessionsOpened);
            UpstreamSessionsClosed += Volatile.Read(ref c.UpstreamSessionsClosed);
            SessionsCompleted += Volatile.Read(ref c.SessionsCompleted);
            SessionsRenewed += Volatile.Read(ref c.SessionsRenewed);
            SessionsClosedUpstreamIdle += Volatile.Read(ref c.UpstreamIdleClosed);
            SentWithoutHealthyUpstream += Volatile.Read(ref c.SentToUnhealthy);
            DatagramsHeldForSocket += Volatile.Read(ref c.DatagramsHeld);
            SessionsMovedOffUnhealthy += Volatile.Read(ref c.Moved[0]);
            SessionsMovedOffRemoved += Volatile.Read(ref c.Moved[1]);
            for (int i = 0; i < _dropped.Length; i++)
            {
                _dropped[i] += Volatile.Read(ref c.Dropped[i]);
            }
        }

        DatagramsWaitingForSocket = forwarder.LoopStates.Sum(state => state.HeldCount);
        Upstreams = [.. forwarder.Set.Members.Select(u => new UpstreamStatistics(u))];
    }

    /// <summary>The client side: the forwarder's <see cref="SessionServer"/>.</summary>
    public ServerStatistics Server { get; }

    /// <summary>Client datagrams sent to upstreams.</summary>
    public long Requests { get; }

    /// <summary>Payload bytes of <see cref="Requests"/> (without PROXY headers).</summary>
    public long RequestBytes { get; }

    /// <summary>Datagrams read from upstream sockets (forwarded or dropped).</summary>
    public long ResponsesReceived { get; }

    /// <summary>Payload bytes of <see cref="ResponsesReceived"/>.</summary>
    public long ResponseBytesReceived { get; }

    /// <summary>Upstream datagrams handed to client sessions to send.</summary>
    public long ResponsesForwarded { get; }

    /// <summary>Payload bytes of <see cref="ResponsesForwarded"/>.</summary>
    public long ResponseBytesForwarded { get; }

    /// <summary>Upstream sessions (sockets toward upstreams) opened since start: one per client session, plus moves and renewals.</summary>
    public long UpstreamSessionsOpened { get; }

    /// <summary>Upstream sessions closed since start.</summary>
    public long UpstreamSessionsClosed { get; }

    /// <summary>Upstream sessions (sockets toward upstreams) open now.</summary>
    public long UpstreamSessionsActive => UpstreamSessionsOpened - UpstreamSessionsClosed;

    /// <summary>Sessions closed because every request had its replies (<see cref="UdpForwarderOptions.ResponsesPerRequest"/>).</summary>
    public long SessionsCompleted { get; }

    /// <summary>Upstream sessions started afresh after <see cref="UdpForwarderOptions.RequestsPerSession"/> requests.</summary>
    public long SessionsRenewed { get; }

    /// <summary>Sessions closed by <see cref="UdpForwarderOptions.UpstreamIdleTimeout"/>.</summary>
    public long SessionsClosedUpstreamIdle { get; }

    /// <summary>Sessions moved to another upstream because theirs became unhealthy.</summary>
    public long SessionsMovedOffUnhealthy { get; }

    /// <summary>Sessions moved to another upstream because theirs was removed.</summary>
    public long SessionsMovedOffRemoved { get; }

    /// <summary>Choices made while no upstream was healthy (the datagram went to the ring's or the rotation's choice anyway).</summary>
    public long SentWithoutHealthyUpstream { get; }

    /// <summary>Client datagrams held while no fd was free for an upstream socket (each later forwarded, or dropped as <see cref="ForwardDropReason.NoUpstreamSocket"/>).</summary>
    public long DatagramsHeldForSocket { get; }

    /// <summary>Client datagrams held now, waiting for an upstream socket.</summary>
    public long DatagramsWaitingForSocket { get; }

    /// <summary>The upstreams in force, with their health and traffic.</summary>
    public IReadOnlyList<UpstreamStatistics> Upstreams { get; }

    /// <summary>Datagrams dropped for <paramref name="reason"/>.</summary>
    public long GetDropped(ForwardDropReason reason) => _dropped[(int)reason];

    /// <summary>Datagrams dropped, all causes.</summary>
    public long DatagramsDropped => _dropped.Sum();

    /// <inheritdoc />
    public override string ToString() =>
        $"requests={Requests} responses={ResponsesReceived} forwarded={ResponsesForwarded} dropped={DatagramsDropped} " +
        $"upstreamSessions={UpstreamSessionsActive} moved={SessionsMovedOffUnhealthy + SessionsMovedOffRemoved} " +
        $"healthy={Upstreams.Count(u => u.IsHealthy)}/{Upstreams.Count}";
}
