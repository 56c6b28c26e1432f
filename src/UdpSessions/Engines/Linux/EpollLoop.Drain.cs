using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.EpollConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// Draining (docs/operations.md): this loop stops taking new peers, gives every session it serves on the listener a
/// socket of its own (so the kernel keeps routing the peer to this process once the listener is gone), reads the
/// listener past every promotion, then lets the listener go: handed to a successor process with the new peers'
/// datagrams it read meanwhile (<see cref="DrainMode.ToSuccessor"/>), or taken out of the port
/// (<see cref="DrainMode.Leaving"/>, <see cref="RetireListener"/>).
/// </summary>
internal sealed partial class EpollLoop
{
    // New peers' datagrams read while promotions settle, kept for the successor. Beyond this they are dropped and counted.
    private const int MaxDivertedBytes = 16 << 20;

    // Sessions being retired hold back their peers' newer datagrams for a grace period; the listener is let go once
    // they are routed (to the successor, as new peers), or after this long if closes keep coming.
    private const int MaxRetirementWaitMilliseconds = 250;

    private DrainMode _drainMode;
    private bool _drainPending;
    private bool _listenerReleased;
    private long _drainStarted;
    private int _divertedBytes;
    private List<HandedOverDatagram> _diverted = [];
    private readonly HashSet<Session> _drainTried = [];
    private TaskCompletionSource<List<HandedOverDatagram>>? _drained;

    /// <summary>Datagrams the predecessor read for new peers of this loop's listener; routed before the listener is first read.</summary>
    public List<HandedOverDatagram>? TakenOver { get; set; }

    /// <summary>Starts draining on the loop's thread; completes once the listener can be let go (with the diverted datagrams).</summary>
    public Task<List<HandedOverDatagram>> BeginDrain(DrainMode mode)
    {
        var drained = new TaskCompletionSource<List<HandedOverDatagram>>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(null!, new DrainWork(loop => loop.StartDrain(mode, drained)));
        return drained.Task;
    }

    /// <summary>Leaving: takes the listener out of the port without freeing what the kernel queued on it (see <see cref="RetireListener"/>).</summary>
    public Task RetireListenerAsync()
    {
        var retired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(null!, new DrainWork(loop =>
        {
            loop.RetireListener();
            retired.TrySetResult();
        }));
        return retired.Task;
    }

    /// <summary>The successor never acknowledged the listeners: serve them again, with the datagrams kept for it.</summary>
    public Task ReclaimListenerAsync(List<HandedOverDatagram> diverted)
    {
        var reclaimed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(null!, new DrainWork(loop =>
        {
            loop._drainMode = DrainMode.None;
            loop._listenerReleased = false;
            loop._epoll.Control(EPOLL_CTL_ADD, loop._listener.Socket, loop.ReadEvents, ListenerTag);
            loop.RouteTakenOver(diverted, counted: false);
            reclaimed.TrySetResult();
        }));
        return reclaimed.Task;
    }

    private void StartDrain(DrainMode mode, TaskCompletionSource<List<HandedOverDatagram>> drained)
    {
        if (_drainMode != DrainMode.None)
        {
            drained.TrySetResult([]);
            return;
        }

        _drainMode = mode;
        _drained = drained;
        _drainPending = true;
        _drainStarted = Now;
        QueueDrainPromotions();
    }

    /// <summary>Every open session of this loop still on the listener becomes a promotion candidate, once.</summary>
    private int QueueDrainPromotions()
    {
        int queued = 0;
        if (!_engine.CanKeepSessions)
        {
            return 0;
        }

        foreach (Session session in Engine.Registry.Snapshot())
        {
            if (session.Home == this && session.IsOpen && session.Socket is null && !IsHeldBack(session.Key) && _drainTried.Add(session))
            {
                _promotionCandidates.Add(session);
                queued++;
            }
        }

        return queued;
    }

    /// <summary>After each pass's placement: lets the listener go once every promotion has read past it.</summary>
    private void ContinueDrain()
    {
        if (!_drainPending || _promotionCandidates.Count > 0 || _awaitingListener.Count > 0 || QueueDrainPromotions() > 0)
        {
            return;
        }

        if (_retiring.Count > 0 && Now - _drainStarted < MaxRetirementWaitMilliseconds)
        {
            return; // their held-back datagrams become new peers' (the successor's) when the grace period ends
        }

        _drainPending = false;
        foreach (Session session in Engine.Registry.Snapshot())
        {
            if (session.Home == this && session.Socket is null && !session.IsTornDown)
            {
                Counters.SessionsNotKept++;
                TearDown(session, SessionCloseReason.ServerShutdown);
            }
        }

        FlushSends();
        List<HandedOverDatagram> diverted = _diverted;
        _diverted = [];
        if (_drainMode == DrainMode.ToSuccessor)
        {
            // Not read here any more: the successor reads on from exactly this point.
            _epoll.Remove(_listener.Socket);
            _listenerReleased = true;
        }

        _drained!.TrySetResult(diverted);
    }

    protected override bool DivertNewPeer(in PeerAddress peer, in PeerAddress local, ReadOnlySpan<byte> datagram)
    {
        if (_drainMode == DrainMode.None)
        {
            return false;
        }

        if (_drainMode == DrainMode.ToSuccessor && _drainPending && _divertedBytes + datagram.Length <= MaxDivertedBytes)
        {
            _diverted.Add(new HandedOverDatagram(Index, peer, local, datagram.ToArray()));
            _divertedBytes += datagram.Length;
            Counters.DatagramsHandedOver++;
        }
        else
        {
            Counters.Dropped[(int)DropReason.Draining]++;
        }

        return true;
    }

    /// <summary>
    /// Leaving the port: the sending twins are gone already (the engine closes them all first, so that no listener
    /// moves in the group), the listener is re-connected to its own address, which takes it out of the reuseport group
    /// and of every lookup of the port (the kernel steers the port's traffic to the other members, another process
    /// sharing it), and what it still holds is read: before and after an RCU grace period, as for a retired session
    /// socket, so that nothing is freed uncounted by close(). Its sessions all have sockets of their own by now;
    /// anything else it holds is a new peer's and is dropped and counted (<see cref="DropReason.Draining"/>).
    /// </summary>
    private void RetireListener()
    {
        if (_listenerReleased)
        {
            return;
        }

        SessionSocketFactory.Retire(_listener.Socket);
        ReadListenerToEnd();
        _engine.GracePeriods.WaitOnce();
        ReadListenerToEnd();
        _epoll.Remove(_listener.Socket);
        _listenerReleased = true;
        _listener.Socket.Dispose();
    }

    private void ReadListenerToEnd()
    {
        for (int round = 0; round < 4_096 && ReadListener(ListenerBatchesPerEvent) > 0; round++)
        {
        }
    }

    /// <summary>The predecessor's datagrams for new peers, older than anything on the listener: routed first.</summary>
    private void RouteTakenOver(List<HandedOverDatagram>? datagrams, bool counted)
    {
        if (datagrams is null)
        {
            return;
        }

        foreach (HandedOverDatagram datagram in datagrams)
        {
            if (counted)
            {
                Counters.DatagramsTakenOver++;
                Counters.DatagramsReceived++;
                Counters.BytesReceived += datagram.Data.Length;
            }
            else
            {
                Counters.DatagramsHandedOver--; // taken back: delivered or dropped here after all
            }

            if (datagram.Data.Length > MaxDatagramSize)
            {
                Counters.Dropped[(int)DropReason.Oversized]++;
                continue;
            }

            RouteByAddress(datagram.Source, datagram.Destination, datagram.Data, RouteOrigin.Listener);
        }
    }

    private sealed class DrainWork(Action<EpollLoop> action) : ILoopWork
    {
        public void Execute(IoLoop loop, Session session) => action((EpollLoop)loop);
    }
}

/// <summary>How a draining server lets its listeners go.</summary>
internal enum DrainMode
{
    None,

    /// <summary>Handed to a successor process (with the new peers' datagrams read meanwhile).</summary>
    ToSuccessor,

    /// <summary>Taken out of the port: the kernel steers its traffic to the port's other sockets, if any.</summary>
    Leaving,
}

/// <summary>A datagram of a new peer read by a draining loop (listener index, addresses, bytes), passed to the successor.</summary>
internal sealed record HandedOverDatagram(int Listener, PeerAddress Source, PeerAddress Destination, byte[] Data);
