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
        switch (_engine.Placement)
        {
            case SessionPlacement.OwnSocket:
                _promotionCandidates.Add(session);
                break;
            case SessionPlacement.Adaptive:
                StartPromotionCountdown(session);
                break;
        }
    }

    protected override void OnPromotionCountdownElapsed(Session session)
    {
        if (Now - session.PromotionWindowStart <= 1_000)
        {
            _promotionCandidates.Add(session); // busy enough: promoted at the end of this pass
        }
        else
        {
            StartPromotionCountdown(session);
        }
    }

    private void StartPromotionCountdown(Session session)
    {
        session.PromotionCountdown = _engine.Options.PromotionDatagramsPerSecond;
        session.PromotionWindowStart = Now;
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
            if (!session.IsOpen || session.Socket is not null)
            {
                continue;
            }

            if (IsHeldBack(session.Key) || HasOrphan(session.Key))
            {
                // Its previous socket is still being retired and datagrams newer than it are held back here: a new
                // socket would deliver even newer ones first. Asked again by its next datagrams.
                StartPromotionCountdown(session);
                continue;
            }

            switch (_engine.TryPromote(session))
            {
                case PromotionResult.Promoted:
                    Counters.SessionsPromoted++;
                    session.PromotionCountdown = 0;
                    session.ListenerEmptyMark = _listenerEmptied;
                    session.ListenerReadMark = _listenerReads + _maxQueuedOnListener;
                    _awaitingListener.Add(session);
                    break;
                case PromotionResult.BudgetSpent when _engine.Placement == SessionPlacement.Adaptive:
                    StartPromotionCountdown(session); // a socket may be free by its next busy second
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
    /// True once everything the listener held when the session's socket was connected has been read: the listener
    /// ran dry since, or it yielded as many datagrams as its buffer can hold. Until then the peer's older datagrams
    /// may still be on the listener, and reading the new socket first would deliver newer ones before them.
    /// </summary>
    private bool ListenerPassed(Session session) =>
        _listenerEmptied > session.ListenerEmptyMark || _listenerReads >= session.ListenerReadMark;
}
