using UdpSessions.Interop.Linux;
using UdpSessions.Internal;

namespace UdpSessions.Forwarding;

/// <summary>
/// One client session of a forwarder and its upstream side: the upstream it is bound to (consistent hashing), its
/// socket toward the upstreams, the PROXY header, and the counts its lifetime rules need. Everything but replies read
/// by a .NET socket (engines without attachments) runs on the session's own I/O thread.
/// </summary>
internal sealed partial class ForwardedSession
{
    private readonly ForwardingHandler _forwarder;
    private readonly ulong _hashKey;
    private readonly byte[]? _proxyHeader;
    private IUpstreamChannel? _channel;
    private Upstream? _upstream; // consistent hashing: the upstream of the current binding
    private HashSet<Upstream>? _headerSentTo; // round robin with the header on first datagrams
    private bool _headerSent;
    private int _requests; // of the current binding
    private int _responses;
    private long _lastUpstreamActivity;

    public ForwardedSession(ForwardingHandler forwarder, Session session)
    {
        _forwarder = forwarder;
        Session = session;
        _hashKey = HashRing.KeyOf(session.Peer);
        _proxyHeader = forwarder.Options.ProxyProtocol == ProxyProtocolMode.None ? null : ProxyHeaderV2.Create(session.Peer, session.Local);
    }

    public Session Session { get; }

    private ForwardCounters Counters => _forwarder.LoopCounters[Session.Home.Index];

    private bool RoundRobin => _forwarder.Options.Balancing == UpstreamBalancing.RoundRobin;

    /// <summary>The session was accepted: pick an upstream and open the socket toward it (or wait for an fd).</summary>
    public void Start()
    {
        _lastUpstreamActivity = Session.Home.Now;
        if (_forwarder.Options.UpstreamIdleTimeout != Timeout.InfiniteTimeSpan)
        {
            TimeSpan period = TimeSpan.FromMilliseconds(Math.Max(10, _forwarder.Options.UpstreamIdleTimeout.TotalMilliseconds / 4));
            Session.Schedule(period, period, static session => ((ForwardedSession)session.UserState!).CheckUpstreamIdle());
        }

        TryBind(RoundRobin ? null : PickNewUpstream());
    }

    /// <summary>A datagram of the client, on its I/O thread.</summary>
    public void Forward(ReadOnlySpan<byte> datagram)
    {
        if (_channel is null || _held is not null)
        {
            Hold(datagram); // behind the ones already waiting for a socket
            return;
        }

        if (_forwarder.Options.RequestsPerSession is int limit && _requests >= limit)
        {
            Counters.SessionsRenewed++;
            if (!Rebind(RoundRobin ? null : PickNewUpstream()))
            {
                Hold(datagram);
                return;
            }
        }
        else if (_upstream is { IsUsable: false } && !MoveOff())
        {
            Hold(datagram);
            return;
        }

        Send(datagram, mayRetry: true);
    }

    /// <summary>A datagram read from the upstream socket (<paramref name="source"/> only for unconnected sockets).</summary>
    public void OnResponse(ReadOnlySpan<byte> datagram, int length, PeerAddress? source, bool onLoop)
    {
        bool shared = !onLoop;
        ForwardCounters counters = shared ? _forwarder.SharedCounters : Counters;
        ForwardCounters.Add(ref counters.Responses, 1, shared);
        ForwardCounters.Add(ref counters.ResponseBytes, length, shared);
        Upstream? from = source is { } address ? _forwarder.Set.Find(address) : _upstream;
        if (length > Session.Home.Engine.Options.MaxDatagramSize)
        {
            Drop(counters, ForwardDropReason.ResponseOversized, shared);
            return;
        }

        if (from is null)
        {
            Drop(counters, ForwardDropReason.UnknownSource, shared);
            return;
        }

        if (!Session.IsOpen)
        {
            Drop(counters, ForwardDropReason.ResponseAfterClose, shared);
            return;
        }

        bool complete = false;
        if (_forwarder.Options.ResponsesPerRequest is int perRequest)
        {
            int responses = shared ? Interlocked.Increment(ref _responses) : ++_responses;
            long expected = (long)Volatile.Read(ref _requests) * perRequest;
            if (responses > expected)
            {
                Drop(counters, ForwardDropReason.UnexpectedResponse, shared);
                return;
            }

            complete = responses == expected;
        }

        long now = shared ? Environment.TickCount64 : Session.Home.Now;
        Volatile.Write(ref _lastUpstreamActivity, now);
        if (_forwarder.WatchesReplies)
        {
            from.NoteReply(now);
        }

        if (!Session.Send(datagram))
        {
            Drop(counters, ForwardDropReason.ClientSendRefused, shared);
            return;
        }

        ForwardCounters.Add(ref counters.ResponsesForwarded, 1, shared);
        ForwardCounters.Add(ref counters.ResponseBytesForwarded, length, shared);
        UpstreamCounters upstreamCounters = shared ? from.SharedCounters : from.LoopCounters[Session.Home.Index];
        ForwardCounters.Add(ref upstreamCounters.Responses, 1, shared);
        ForwardCounters.Add(ref upstreamCounters.ResponseBytes, length, shared);
        if (complete)
        {
            ForwardCounters.Add(ref counters.SessionsCompleted, 1, shared);
            Session.Close(); // every request answered (DNS style): the session has done its work
        }
    }

    /// <summary>The connected upstream socket reported ICMP port unreachable.</summary>
    public void OnUpstreamUnreachable(bool onLoop)
    {
        if (_upstream is { } upstream)
        {
            _forwarder.MarkUnhealthy(upstream, UpstreamHealthChange.IcmpUnreachable);
        }
    }

    /// <summary>An unexpected error on the upstream socket: logged, and the session is closed.</summary>
    public void OnUpstreamSocketError(int errno)
    {
        _forwarder.UpstreamSocketFailed(_upstream, errno);
        Session.RequestClose(SessionCloseReason.Error);
    }

    /// <summary>The client session closed (on its I/O thread, or on the stopping thread when the server stops).</summary>
    public void OnClosed()
    {
        CloseChannel();
        while (_held is not null && _held.TryDequeue(out var held))
        {
            DropHeld(held);
        }

        _held = null;
    }

    private Upstream PickNewUpstream(bool count = true)
    {
        Upstream upstream = _forwarder.Set.PickByHash(_hashKey, out bool noneHealthy)!;
        if (noneHealthy && count)
        {
            Counters.SentToUnhealthy++;
        }

        return upstream;
    }

    /// <summary>The bound upstream is unhealthy or removed: moves to the ring's next healthy choice. False when no socket was left.</summary>
    private bool MoveOff()
    {
        Upstream current = _upstream!;
        Upstream next = _forwarder.Set.PickByHash(_hashKey, out bool noneHealthy)!;
        if (noneHealthy)
        {
            Counters.SentToUnhealthy++;
            if (!current.IsRemoved)
            {
                return true; // nowhere better to go: stay
            }
        }

        if (next == current)
        {
            return true;
        }

        Counters.Moved[current.IsRemoved ? 1 : 0]++;
        return Rebind(next);
    }

    /// <summary>Ends the current upstream session (its queued replies are delivered first) and starts one toward <paramref name="upstream"/>.</summary>
    private bool Rebind(Upstream? upstream)
    {
        CloseChannel();
        return TryBind(upstream);
    }

    /// <summary>Opens the socket of a new upstream session; without an fd, starts waiting for one (false).</summary>
    private bool TryBind(Upstream? upstream)
    {
        _upstream = upstream;
        _requests = 0;
        _responses = 0;
        _headerSent = false;
        _headerSentTo?.Clear();
        _channel = _forwarder.OpenChannel(this, upstream, out int errno);
        if (_channel is null)
        {
            if (Errno.IsResourceExhaustion(errno))
            {
                _forwarder.NoteSocketsExhausted(errno);
                _socketRetry ??= Session.Schedule(s_socketRetryPeriod, s_socketRetryPeriod, static session => ((ForwardedSession)session.UserState!).RetrySocket());
            }
            else
            {
                _forwarder.UpstreamSocketFailed(upstream, errno);
            }

            return false;
        }

        Counters.UpstreamSessionsOpened++;
        upstream?.SessionOpened();
        return true;
    }

    private void CloseChannel()
    {
        if (_channel is null)
        {
            return;
        }

        IUpstreamChannel channel = _channel;
        _channel = null;
        channel.Close();
        _forwarder.SocketBudget.Release();
        Counters.UpstreamSessionsClosed++;
        _upstream?.SessionClosed();
    }

    private void Send(ReadOnlySpan<byte> datagram, bool mayRetry)
    {
        ForwardCounters counters = Counters;
        bool noneHealthy = false;
        Upstream target = RoundRobin ? _forwarder.LoopStates[Session.Home.Index].RoundRobin.Pick(_forwarder.Set, out noneHealthy) : _upstream!;
        if (noneHealthy)
        {
            counters.SentToUnhealthy++;
        }

        ReadOnlySpan<byte> header = HeaderFor(target);
        if (header.Length + datagram.Length > SessionServerOptions.MaxUdpPayload)
        {
            counters.Dropped[(int)ForwardDropReason.RequestTooLarge]++;
            return;
        }

        switch (_channel!.Send(header, datagram, target, out int errno))
        {
            case UpstreamSendResult.Sent:
                if (header.Length > 0)
                {
                    MarkHeaderSent(target);
                }

                Volatile.Write(ref _requests, _requests + 1);
                counters.Requests++;
                counters.RequestBytes += datagram.Length;
                UpstreamCounters upstreamCounters = target.LoopCounters[Session.Home.Index];
                upstreamCounters.Requests++;
                upstreamCounters.RequestBytes += datagram.Length;
                if (_forwarder.WatchesReplies)
                {
                    target.NoteRequest(Session.Home.Now);
                }

                return;
            case UpstreamSendResult.WouldBlock:
                counters.Dropped[(int)ForwardDropReason.UpstreamSendBufferFull]++;
                return;
            case UpstreamSendResult.TooLarge:
                counters.Dropped[(int)ForwardDropReason.RequestTooLarge]++;
                return;
            case UpstreamSendResult.Refused when mayRetry:
                // The upstream answered an earlier datagram with ICMP port unreachable; this one did not leave. It goes
                // to the next healthy upstream (or, when none is, once more to this one).
                _forwarder.MarkUnhealthy(target, UpstreamHealthChange.IcmpUnreachable);
                if (!RoundRobin && !MoveOff())
                {
                    Hold(datagram);
                    return;
                }

                Send(datagram, mayRetry: false);
                return;
            default:
                _forwarder.UpstreamSendFailed(target, errno);
                counters.Dropped[(int)ForwardDropReason.UpstreamSendFailed]++;
                return;
        }
    }

    private ReadOnlySpan<byte> HeaderFor(Upstream target)
    {
        if (_proxyHeader is null)
        {
            return default;
        }

        if (_forwarder.Options.ProxyProtocol == ProxyProtocolMode.EveryDatagram)
        {
            return _proxyHeader;
        }

        bool sent = RoundRobin ? _headerSentTo?.Contains(target) == true : _headerSent;
        return sent ? default : _proxyHeader;
    }

    private void MarkHeaderSent(Upstream target)
    {
        if (RoundRobin)
        {
            (_headerSentTo ??= []).Add(target);
        }
        else
        {
            _headerSent = true;
        }
    }

    private static void Drop(ForwardCounters counters, ForwardDropReason reason, bool shared) =>
        ForwardCounters.Add(ref counters.Dropped[(int)reason], 1, shared);

    private void CheckUpstreamIdle()
    {
        if (Session.Home.Now - Volatile.Read(ref _lastUpstreamActivity) >= (long)_forwarder.Options.UpstreamIdleTimeout.TotalMilliseconds)
        {
            Counters.UpstreamIdleClosed++;
            Session.RequestClose(SessionCloseReason.IdleTimeout);
        }
    }
}
