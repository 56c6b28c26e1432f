using System.Net.Sockets;
using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.EpollConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// One I/O thread of the epoll engine: its own epoll instance, its own listening socket (read by no other thread),
/// its receive and send batches, and the sessions the kernel steered to it. The epoll data of a session socket is its
/// (generation, slot), resolved without a lock or a hash lookup; a datagram on the listener finds its session in the
/// address map.
/// </summary>
/// <remarks>
/// Order per peer: the kernel queues one peer's datagrams in order on one socket, and this thread alone reads that
/// socket, so they are delivered in order. The only moments a peer's datagrams sit on two sockets are a promotion
/// (older ones on the listener, newer on the new socket: the socket is read only after the listener has been read
/// past everything queued before connect(), see EpollLoop.Placement.cs), a close (newer ones go back to the
/// listener: held back until the retired socket's last read, see EpollLoop.Retirement.cs), and the listener group
/// changing (another process joining the port: handed over and ordered behind this listener, EpollLoop.Redirects.cs).
/// </remarks>
internal sealed unsafe partial class EpollLoop : IoLoop, IDisposable
{
    private const ulong ListenerTag = ulong.MaxValue;
    private const int MaxEvents = 256;

    // Bounded reads per readiness event keep one busy socket from starving the others; level-triggered epoll (or the
    // one-shot re-arm, which re-checks readiness) brings the rest back on the next wait.
    private const int ListenerBatchesPerEvent = 4;
    private const int SessionBatchesPerEvent = 2;

    [ThreadStatic]
    private static EpollLoop? t_current;

    private readonly EpollEngine _engine;
    private readonly EpollSet _epoll = new();
    private readonly LinuxListener _listener;
    private readonly bool _oneShot;
    private readonly ReceiveBatch _receive;
    private readonly SendBatch _send;
    private readonly byte* _events;

    // Datagrams read from the listener, and how often a read found it empty: the marks promotions and hand-overs
    // wait for (a socket's queue is FIFO and bounded, so once the listener ran dry, or once it has yielded as many
    // datagrams as it could hold, everything queued on it before a given moment has been read).
    private long _listenerReads;
    private long _listenerEmptied;
    private long _listenerBatches;

    // Session sockets in this loop's epoll. With none (and no attached sockets, which would starve), a loop whose
    // listener keeps yielding datagrams reads it again without an epoll_wait in between, as a blocking recvmmsg server
    // would (one system call fewer per wake-up).
    private int _registeredSockets;
    private readonly bool _adaptive;

    public EpollLoop(EpollEngine engine, int index, LinuxListener listener)
        : base(engine, index)
    {
        _engine = engine;
        _listener = listener;
        _oneShot = engine.Options.EpollMode == EpollMode.EdgeTriggeredOneShot;
        _adaptive = engine.Placement == SessionPlacement.Adaptive;
        _receive = new ReceiveBatch(engine.Options.MaxDatagramSize, listener.IsWildcard, engine.Options.ReceiveCoalescing ? Counters : null);
        _send = new SendBatch(capacity: 256, arenaSize: Math.Max(256 << 10, SessionServerOptions.MaxUdpPayload), Counters, engine.Options.SendSegmentation);
        if (engine.Options.ReceiveCoalescing)
        {
            GroSegments.Enable(listener.Socket, engine.SendCounters);
        }

        UdpSegmentation.PrepareSender(listener.Sender, engine.Options);

        _events = (byte*)NativeMemory.AllocZeroed((nuint)(MaxEvents * EpollEvent.Size));
        _maxQueuedOnListener = (listener.ReceiveBufferBytes / MinimumDatagramTrueSize) + 1;
        _epoll.Control(EPOLL_CTL_ADD, listener.Socket, ReadEvents, ListenerTag);
    }

    /// <summary>The loop whose thread is running, or null on other threads (their sends are not batched).</summary>
    public static EpollLoop? Current => t_current;

    // Level-triggered, or disarmed by each event and re-armed once read.
    private uint ReadEvents => _oneShot ? EPOLLIN | EPOLLET | EPOLLONESHOT : EPOLLIN;

    public override void Wake() => _epoll.Wake();

    public void Dispose()
    {
        _epoll.Dispose();
        _receive.Dispose();
        _send.Dispose();
        _detachBatch?.Dispose();
        NativeMemory.Free(_events);
        _drain?.Dispose();
    }

    protected override void RunIo()
    {
        t_current = this;
        SessionTable table = Engine.Registry.Table;
        bool listenerBusy = false;
        RouteTakenOver(TakenOver, counted: true);
        TakenOver = null;
        while (!Engine.Stopping)
        {
            int count = 0;
            if (!listenerBusy || _registeredSockets > 0 || _attachments.Count > 0)
            {
                count = _epoll.Wait(_events, MaxEvents, listenerBusy || PlacementPending ? 0 : WaitTimeoutMilliseconds());
                if (count < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }

                    throw new SocketException(errno);
                }
            }

            Now = Environment.TickCount64;

            // Commands first: a hand-off queued before a session's socket was registered is older than its events.
            RunCommands();
            bool listenerEvent = false;
            for (int i = 0; i < count; i++)
            {
                ulong data = EpollEvent.ReadData(_events, i);
                if (data == ListenerTag)
                {
                    listenerEvent = true;
                }
                else if (data == EpollSet.WakeTag)
                {
                    _epoll.AcknowledgeWake();
                    RunCommands();
                }
                else if ((data & AttachmentTable.TagBit) != 0)
                {
                    DispatchAttachment(data); // a session's extra socket (EpollLoop.Attachments.cs)
                }
                else
                {
                    (int slot, int generation) = SessionTable.FromEventData(data);
                    Session? session = table.Find(slot, generation);
                    if (session is not null && session.Home == this && session.SocketRegistered)
                    {
                        ReadSession(session);
                    }
                }
            }

            // After a pass that found datagrams on the listener, more have usually arrived while they were handled.
            listenerBusy = (listenerEvent || listenerBusy) && ReadListener(ListenerBatchesPerEvent) > 0;
            if (listenerEvent)
            {
                RearmListener();
            }

            PlaceSessions();
            ContinueDrain();
            RunCommands();
            DeliverRedirectedBacklog();
            AdvanceTimers();
            MeasureListenerRate();
            FlushSends(); // before waiting: a reply never waits for the next datagram
        }

        FlushSends();
    }

    protected override void RegisterSocket(Session session)
    {
        _registeredSockets++;
        if (!_epoll.TryControl(EPOLL_CTL_ADD, session.Socket!, ReadEvents, SessionTable.ToEventData(session), out int errno))
        {
            SocketFailed("epoll_ctl(ADD)", errno);
            session.RequestClose(SessionCloseReason.Error);
        }
    }

    protected override void UnregisterSocket(Session session)
    {
        _registeredSockets--;
        _epoll.Remove(session.Socket!);
    }

    /// <summary>
    /// Reads up to <paramref name="batches"/> batches from this loop's listener and routes every datagram by address;
    /// returns how many datagrams it read.
    /// </summary>
    private int ReadListener(int batches)
    {
        int total = 0;
        if (_listenerReleased)
        {
            return 0; // handed over or retired (EpollLoop.Drain.cs)
        }

        for (int batch = 0; batch < batches; batch++)
        {
            int received = _receive.Receive(_listener.Socket, _receive.Capacity, out int errno);
            if (received < 0)
            {
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno != Errno.EAGAIN)
                {
                    SocketFailed("recvmmsg on the listener", errno);
                }

                _listenerEmptied++;
                return total;
            }

            total += received;
            _listenerBatches++;
            _listenerReads += _receive.Reads; // what the socket's buffer held: a coalesced read is one entry
            Counters.ListenerDatagrams += received;
            for (int i = 0; i < received; i++)
            {
                if (Accounted(_receive.Length(i)))
                {
                    RouteByAddress(_receive.Source(i), _receive.Destination(i, _listener.Local), _receive.Data(i), RouteOrigin.Listener);
                }
            }

            if (_receive.Reads < _receive.Capacity)
            {
                _listenerEmptied++; // the queue ran dry during this read
                return total;
            }
        }

        return total;
    }

    private void RearmListener()
    {
        if (_oneShot)
        {
            _epoll.Control(EPOLL_CTL_MOD, _listener.Socket, ReadEvents, ListenerTag);
        }
    }

    /// <summary>Reads a session's own socket in batches and delivers what it holds.</summary>
    private void ReadSession(Session session)
    {
        SafeHandle socket = session.Socket!;
        for (int batch = 0; batch < SessionBatchesPerEvent; batch++)
        {
            int received = _receive.Receive(socket, _receive.Capacity, out int errno);
            if (received < 0)
            {
                switch (errno)
                {
                    case Errno.EAGAIN:
                        EndFirstRead(session);
                        goto Rearm;
                    case Errno.EINTR:
                        continue;
                    case Errno.ECONNREFUSED:
                        session.RequestClose(SessionCloseReason.PeerUnreachable);
                        return;
                    default:
                        SocketFailed("recvmmsg on a session socket", errno);
                        session.RequestClose(SessionCloseReason.Error);
                        return;
                }
            }

            for (int i = 0; i < received; i++)
            {
                if (!session.IsOpen)
                {
                    // Closed by its own handler (or another thread) in the middle of this batch: what is left of it
                    // is older than what the socket still holds, so it is routed first, then those.
                    CloseWithUndelivered(session, i, received);
                    return;
                }

                if (!Accounted(_receive.Length(i)))
                {
                    continue;
                }

                if (!session.SourceVerified && _receive.Source(i) is var source && source != session.Peer)
                {
                    // Another peer's datagram queued before connect() (the steering program should make this
                    // impossible; checked anyway until the queue first runs dry).
                    Counters.StraysRerouted++;
                    RouteByAddress(source, session.Local, _receive.Data(i), RouteOrigin.Stray);
                    continue;
                }

                Deliver(session, _receive.Data(i));
            }

            if (_receive.Reads < _receive.Capacity)
            {
                EndFirstRead(session);
                break;
            }
        }

    Rearm:
        if (_oneShot && session.IsOpen && session.SocketRegistered)
        {
            if (!_epoll.TryControl(EPOLL_CTL_MOD, socket, ReadEvents, SessionTable.ToEventData(session), out int errno))
            {
                SocketFailed("epoll_ctl(MOD) on a session socket", errno);
                session.RequestClose(SessionCloseReason.Error);
            }
        }
    }

    /// <summary>The socket's queue ran dry once since connect(): nothing of another peer can be in it any more.</summary>
    private void EndFirstRead(Session session)
    {
        if (!session.SourceVerified)
        {
            session.SourceVerified = true;
            _engine.EndAcceptWindow(session);
        }
    }

    /// <summary>Finishes a close requested while a batch of the session's socket was being delivered.</summary>
    private void CloseWithUndelivered(Session session, int next, int received)
    {
        List<QueuedDatagram>? leftovers = CloseSession(session, session.PendingCloseReason);
        for (int i = next; i < received; i++)
        {
            if (Accounted(_receive.Length(i)))
            {
                RouteByAddress(_receive.Source(i), session.Local, _receive.Data(i), RouteOrigin.Leftover);
            }
        }

        RouteLeftovers(session, leftovers);
    }

    /// <summary>Counts a datagram read from a socket; false (and counted as dropped) when it was larger than allowed.</summary>
    private bool Accounted(int length)
    {
        Counters.DatagramsReceived++;
        Counters.BytesReceived += length;
        if (length > MaxDatagramSize)
        {
            Counters.Dropped[(int)DropReason.Oversized]++;
            return false;
        }

        return true;
    }
}
