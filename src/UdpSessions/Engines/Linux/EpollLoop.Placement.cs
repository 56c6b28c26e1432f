using UdpSessions.Internal;

namespace UdpSessions.Engines.Linux;

/// <summary>Session placement: every session starts in the address map; some are promoted to a socket of their own.</summary>
internal sealed partial class EpollLoop
{
    // An skb charged to a receive buffer is never smaller than this (its sk_buff and shared info alone take ~576 B),
    // so a listener cannot hold more than (receive buffer / this) datagrams.
    private const int MinimumDatagramTrueSize = 512;

    // How many listener batches one pass may read to let promoted sockets start; the rest waits for the next pass.
    private const int MaxBarrierBatches = 16;

    private readonly int _maxQueuedOnListener;
    private readonly List<Session> _promotionCandidates = [];
    private readonly List<Session> _awaitingListener = [];

    protected override void PlaceNewSession(Session session)
    {
        if (_engine.Placement == SessionPlacement.OwnSocket)
        {
            _promotionCandidates.Add(session);
        }
    }

    /// <summary>
    /// Adaptive placement. A socket of its own pays for a session that keeps several datagrams in flight: its socket
    /// hands them over in one recvmmsg with no lookup and answers on a connected route, about 0.7 µs a datagram less
    /// than the listener. But every connected socket on the port also costs every datagram the listeners receive: the
    /// kernel scores the connected sockets of the address before it reaches the listeners (about 7 ns each, measured:
    /// 64 of them added 11 % to listener traffic, 256 added 40 %). So a session is promoted when it keeps datagrams
    /// queued (two of them in one listener batch, <see cref="SessionServerOptions.PromotionQueuedDatagramsPerSecond"/>
    /// times within a second) and carries at least 1 % of the listeners' traffic (0.7 µs saved on its share against
    /// 7 ns added to all of it), within the socket budget. Sessions of many light peers, or with one datagram in
    /// flight, stay on the listeners, where batching already makes them cheapest. Thresholds: BENCHMARKS.md.
    /// </summary>
    protected override void OnListenerDatagram(Session session)
    {
        if (!_adaptive)
        {
            return;
        }

        if (Now - session.PromotionWindowStart > 1_000)
        {
            session.PromotionWindowStart = Now;
            session.QueuedInWindow = 0;
            session.ListenerDatagramsInWindow = 0;
        }

        session.ListenerDatagramsInWindow++;
        bool queued = session.LastListenerBatch == _listenerBatches;
        session.LastListenerBatch = _listenerBatches;
        if (_engine.Options.PromoteAfterDatagramsForTests is int after)
        {
            if (session.ListenerDatagramsInWindow == after)
            {
                _promotionCandidates.Add(session);
            }

            return;
        }

        if (queued && ++session.QueuedInWindow >= _engine.Options.PromotionQueuedDatagramsPerSecond
            && _engine.ListenerDatagramsPerSecond is > 0 and var listenersRate // nothing measured yet: no share can be judged
            && session.ListenerDatagramsInWindow * 100L >= listenersRate
            && !session.PromotionRequested)
        {
            session.PromotionRequested = true;
            _promotionCandidates.Add(session); // promoted at the end of this pass
        }
    }

    /// <summary>Datagrams this loop's listener read in the last full second (for <see cref="EpollEngine.ListenerDatagramsPerSecond"/>).</summary>
    public long ListenerDatagramsLastSecond { get; private set; }

    private long _rateWindowStart;
    private long _rateWindowReads;

    /// <summary>Closes the one-second window of the listener's traffic rate.</summary>
    private void MeasureListenerRate()
    {
        if (Now - _rateWindowStart >= 1_000)
        {
            ListenerDatagramsLastSecond = (_listenerReads - _rateWindowReads) * 1_000 / Math.Max(1_000, Now - _rateWindowStart);
            _rateWindowReads = _listenerReads;
            _rateWindowStart = Now;
        }
    }

    /// <summary>
    /// Gives this pass's candidates their sockets, then registers every promoted socket whose peer's older datagrams
    /// have all been read from the listener (see <see cref="ListenerPassed"/>). Reading the listener for that may
    /// accept or promote more sessions; they are placed in the same pass, within a bound.
    /// </summary>
    private void PlaceSessions()
    {
        for (int round = 0; round <= MaxBarrierBatches; round++)
        {
            if (_promotionCandidates.Count > 0)
            {
                Promote();
            }

            RegisterPromotedSockets();
            if (_awaitingListener.Count == 0 || round == MaxBarrierBatches)
            {
                return; // what still waits needs more listener reads: the listener has data, so the loop comes back at once
            }

            ReadListener(1);
        }
    }

    /// <summary>True when placement work is left for the next pass (the loop must not block then).</summary>
    private bool PlacementPending => _promotionCandidates.Count > 0;

    private void Promote()
    {
        foreach (Session session in _promotionCandidates)
        {
            session.PromotionRequested = false;
            if (!session.IsOpen || session.Socket is not null)
            {
                continue;
            }

            if (IsHeldBack(session.Key) || HasOrphan(session.Key))
            {
                // Its previous socket is still being retired and datagrams newer than it are held back here: a new
                // socket would deliver even newer ones first. Asked again by its next datagrams.
                session.QueuedInWindow = 0;
                continue;
            }

            switch (_engine.TryPromote(session))
            {
                case PromotionResult.Promoted:
                    Counters.SessionsPromoted++;
                    if (_drainMode != DrainMode.None)
                    {
                        Counters.SessionsKeptForDrain++;
                    }

                    session.PromotionSettled = false;
                    _awaitingListener.Add(session);
                    _engine.GracePeriods.Wait(this, session, PromotionSettling.Instance);
                    break;
                case PromotionResult.BudgetSpent when _adaptive:
                    session.QueuedInWindow = 0; // a socket may be free by its next busy second
                    break;
                default:
                    Counters.SessionsWithoutSocket++; // served through the listener, same API
                    break;
            }
        }

        _promotionCandidates.Clear();
    }

    private void RegisterPromotedSockets()
    {
        for (int i = _awaitingListener.Count - 1; i >= 0; i--)
        {
            Session session = _awaitingListener[i];
            if (!ListenerPassed(session))
            {
                continue;
            }

            _awaitingListener.RemoveAt(i);
            if (session.IsTornDown)
            {
                RetireOrphan(session);
            }
            else
            {
                RegisterSocket(session);
                session.SocketRegistered = true;
            }
        }
    }

    /// <summary>
    /// True while a session's promoted socket waits for the listener (<see cref="ListenerPassed"/>). A session closed in
    /// that time leaves the socket behind as an orphan: it keeps taking the peer's newer datagrams, which must follow
    /// the older ones still on the listener, so it is retired only once the listener has been read past them.
    /// </summary>
    private bool IsAwaitingListener(Session session) => !session.SocketRegistered && _awaitingListener.Contains(session);

    /// <summary>The orphan's turn has come: its datagrams are newer than anything left of its peer on the listener.</summary>
    private void RetireOrphan(Session session) => RouteLeftovers(session, RetireSocket(session));

    private bool HasOrphan(in SessionKey key)
    {
        foreach (Session waiting in _awaitingListener)
        {
            if (waiting.Key == key && waiting.IsTornDown)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A grace period has passed since the session's socket was connected: every datagram of its peer that the kernel
    /// routed to the listener is queued there now, so the listener marks can be taken.
    /// </summary>
    private void PromotionSettledNow(Session session)
    {
        session.PromotionSettled = true;
        session.ListenerEmptyMark = _listenerEmptied;
        session.ListenerReadMark = _listenerReads + _maxQueuedOnListener; // registered by this pass's PlaceSessions
    }

    /// <summary>
    /// True once everything the listener held when the session's socket was connected has been read: the listener
    /// ran dry since, or it yielded as many datagrams as its buffer can hold. Until then the peer's older datagrams
    /// may still be on the listener, and reading the new socket first would deliver newer ones before them.
    /// </summary>
    private bool ListenerPassed(Session session) =>
        session.PromotionSettled && (_listenerEmptied > session.ListenerEmptyMark || _listenerReads >= session.ListenerReadMark);

    /// <summary>Posted by <see cref="GracePeriods"/> once a promoted socket's connect() has settled.</summary>
    private sealed class PromotionSettling : ILoopWork
    {
        public static readonly PromotionSettling Instance = new();

        public void Execute(IoLoop loop, Session session) => ((EpollLoop)loop).PromotionSettledNow(session);
    }
}
