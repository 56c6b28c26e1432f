using Microsoft.Extensions.Logging;
using UdpSessions.Interop.Linux;

namespace UdpSessions.Forwarding;

/// <summary>
/// The forwarder as a <see cref="SessionHandler"/>: every client session gets a <see cref="ForwardedSession"/> (its
/// <see cref="Session.UserState"/>) with a socket toward the upstreams; on the epoll engine that socket is attached to
/// the session's own I/O loop, elsewhere a .NET socket (<see cref="SocketUpstreamChannel"/>).
/// </summary>
internal sealed class ForwardingHandler : SessionHandler
{
    private readonly ILogger _logger;
    private readonly Lock _membership = new();
    private UpstreamSet _set;
    private int _setVersion;
    private int _socketsExhausted;
    private int _socketFailureLogged;
    private int _sendFailureLogged;
    private bool _attachToLoops;

    public ForwardingHandler(UdpForwarderOptions options, ILogger logger)
    {
        Options = options;
        _logger = logger;
        Loops = options.Server.IoThreads; // the portable engine runs one of them
        LoopCounters = [.. Enumerable.Range(0, Loops).Select(_ => new ForwardCounters())];
        LoopStates = [.. Enumerable.Range(0, Loops).Select(_ => new ForwarderLoopState())];
        _set = new UpstreamSet([.. options.Upstreams.Select(u => new Upstream(u, Loops))], 0);
        WatchesReplies = options.Health.UnansweredWindow != Timeout.InfiniteTimeSpan;
        SocketBudget = UpstreamSocketBudget.For(options.MaxUpstreamSockets);
        RoundRobinIPv6 = options.Upstreams[0].EndPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
    }

    public UdpForwarderOptions Options { get; }

    public int Loops { get; }

    public ForwardCounters[] LoopCounters { get; }

    /// <summary>Counters of threads other than the I/O loops (replies read by .NET sockets), interlocked.</summary>
    public ForwardCounters SharedCounters { get; } = new();

    public ForwarderLoopState[] LoopStates { get; }

    /// <summary>The upstreams in force (a new set after every add or remove).</summary>
    public UpstreamSet Set => Volatile.Read(ref _set);

    /// <summary>True when the passive "no reply" check runs: requests and replies are then noted per upstream.</summary>
    public bool WatchesReplies { get; }

    /// <summary>Round robin: the unconnected upstream sockets are IPv6 (all upstreams share one family).</summary>
    private bool RoundRobinIPv6 { get; }

    public ILogger Logger => _logger;

    public UpstreamSocketBudget SocketBudget { get; }

    /// <summary>
    /// Chooses how upstream sockets are made once the server (and so the engine) exists: attached to the session's
    /// epoll loop, or .NET sockets on other engines.
    /// </summary>
    public void UseEngine(EngineKind engine) => _attachToLoops = engine == EngineKind.Epoll;

    public override void OnSessionAccepted(Session session)
    {
        var forwarded = new ForwardedSession(this, session);
        session.UserState = forwarded;
        forwarded.Start();
    }

    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) => ((ForwardedSession)session.UserState!).Forward(datagram);

    public override void OnSessionClosed(Session session, SessionCloseReason reason) => (session.UserState as ForwardedSession)?.OnClosed();

    /// <summary>A socket toward <paramref name="upstream"/> (null: unconnected, round robin) for <paramref name="owner"/>.</summary>
    public IUpstreamChannel? OpenChannel(ForwardedSession owner, Upstream? upstream, out int errno)
    {
        if (!SocketBudget.TryReserve())
        {
            errno = Errno.EMFILE; // the budget is spent: the same as no fd left
            return null;
        }

        bool ipv6 = upstream is null ? RoundRobinIPv6 : upstream.EndPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        IUpstreamChannel? channel = _attachToLoops
            ? EpollUpstreamChannel.TryOpen(owner, upstream, ipv6, Options.UpstreamReceiveBufferSize, out errno)
            : SocketUpstreamChannel.TryOpen(owner, upstream, ipv6, Options.UpstreamReceiveBufferSize, out errno);
        if (channel is null)
        {
            SocketBudget.Release();
        }
        else
        {
            Volatile.Write(ref _socketFailureLogged, 0);
        }

        return channel;
    }

    public void MarkUnhealthy(Upstream upstream, UpstreamHealthChange cause)
    {
        if (upstream.TryMarkUnhealthy(cause))
        {
            ForwarderLog.UpstreamUnhealthy(_logger, upstream.Name, cause);
        }
    }

    public void MarkHealthy(Upstream upstream, UpstreamHealthChange cause)
    {
        if (upstream.TryMarkHealthy(cause))
        {
            ForwarderLog.UpstreamHealthy(_logger, upstream.Name, cause);
        }
    }

    public void NoteSocketsExhausted(int errno)
    {
        if (Interlocked.Exchange(ref _socketsExhausted, 1) == 0)
        {
            ForwarderLog.NoUpstreamSocket(_logger, errno, Options.UpstreamSocketWait);
        }
    }

    public void NoteSocketsAvailable()
    {
        if (Volatile.Read(ref _socketsExhausted) != 0 && Interlocked.Exchange(ref _socketsExhausted, 0) == 1)
        {
            ForwarderLog.UpstreamSocketsAvailable(_logger);
        }
    }

    public void UpstreamSocketFailed(Upstream? upstream, int errno)
    {
        if (Interlocked.Exchange(ref _socketFailureLogged, 1) == 0)
        {
            ForwarderLog.UpstreamSocketFailed(_logger, upstream?.Name ?? "(round robin)", errno);
        }
    }

    public void UpstreamSendFailed(Upstream upstream, int errno)
    {
        if (Interlocked.Exchange(ref _sendFailureLogged, 1) == 0)
        {
            ForwarderLog.UpstreamSendFailed(_logger, upstream.Name, errno);
        }
    }

    /// <summary>Adds an upstream; false when one with the same endpoint is already in the set.</summary>
    public bool Add(UpstreamOptions options, out Upstream? added)
    {
        UdpForwarderOptions.ValidateUpstream(options);
        lock (_membership)
        {
            UpstreamSet set = _set;
            added = null;
            if (set.Members.Any(u => u.EndPoint.Equals(options.EndPoint)))
            {
                return false;
            }

            if (set.Members.Count >= UdpForwarderOptions.MaxUpstreams)
            {
                throw new InvalidOperationException($"A forwarder has at most {UdpForwarderOptions.MaxUpstreams} upstreams.");
            }

            if (Options.Balancing == UpstreamBalancing.RoundRobin && (options.EndPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) != RoundRobinIPv6)
            {
                throw new ArgumentException("With round robin every upstream has the address family of the first.", nameof(options));
            }

            added = new Upstream(options, Loops);
            Volatile.Write(ref _set, new UpstreamSet([.. set.Members, added], ++_setVersion));
        }

        ForwarderLog.UpstreamAdded(_logger, added.Name);
        return true;
    }

    /// <summary>Removes an upstream (its sessions move with their next datagram); false when it is not in the set.</summary>
    public bool Remove(System.Net.IPEndPoint endPoint)
    {
        Upstream? removed;
        lock (_membership)
        {
            UpstreamSet set = _set;
            removed = set.Members.FirstOrDefault(u => u.EndPoint.Equals(endPoint));
            if (removed is null)
            {
                return false;
            }

            if (set.Members.Count == 1)
            {
                throw new InvalidOperationException("The last upstream cannot be removed.");
            }

            Volatile.Write(ref _set, new UpstreamSet([.. set.Members.Where(u => u != removed)], ++_setVersion));
            removed.MarkRemoved();
        }

        ForwarderLog.UpstreamRemoved(_logger, removed.Name);
        return true;
    }
}
