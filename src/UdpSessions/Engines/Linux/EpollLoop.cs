using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.EpollConstants;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// One I/O thread of the epoll engine: its own epoll instance, its own receive buffer, and the sessions it accepted.
/// The epoll data of a session socket is its (generation, slot), resolved without a lock or a hash lookup.
/// </summary>
internal sealed unsafe class EpollLoop : IoLoop, IDisposable
{
    private const ulong ListenerTag = ulong.MaxValue;
    private const int MaxEvents = 256;

    // Bounded reads per readiness event keep one busy socket from starving the others; level-triggered epoll (or the
    // one-shot re-arm, which re-checks readiness) brings the rest back on the next wait.
    private const int ReadBudget = 64;

    // Longer than a lookup that picked a socket stays in flight unless its CPU is stalled (RCU grace periods here are
    // milliseconds); short enough that the fds of a burst of closes come back soon.
    private const int HoldBackMilliseconds = 20;

    private readonly EpollEngine _engine;
    private readonly EpollSet _epoll = new();
    private readonly bool _oneShot;
    private readonly byte[] _buffer;
    private byte[]? _drainBuffer;

    // Closed sessions' disconnected sockets, oldest first, until they are read once more and closed (ReleaseSocket).
    private readonly Queue<(Session Session, long Until)> _heldBack = new();
    private readonly byte* _events;
    private readonly byte* _sockaddr;
    private readonly byte* _control;
    private int _listenerParked;

    public EpollLoop(EpollEngine engine, int index)
        : base(engine, index)
    {
        _engine = engine;
        _oneShot = engine.Options.EpollMode == EpollMode.EdgeTriggeredOneShot;
        // The buffer is one byte larger than the largest datagram: recv with MSG_TRUNC reports the real length anyway,
        // and the extra byte keeps a zero-size Span pinning away when MaxDatagramSize is tiny.
        _buffer = GC.AllocateUninitializedArray<byte>(engine.Options.MaxDatagramSize + 1, pinned: true);
        _events = (byte*)NativeMemory.AllocZeroed((nuint)(MaxEvents * EpollEvent.Size));
        _sockaddr = (byte*)NativeMemory.AllocZeroed(128);
        _control = (byte*)NativeMemory.AllocZeroed((nuint)LinuxListener.ControlBufferSize);

        Control(EPOLL_CTL_ADD, engine.Listener.Socket, ListenerEvents, ListenerTag);
    }

    // Level-triggered: EPOLLEXCLUSIVE wakes one (or a few) of the threads waiting on the listener instead of all.
    // One-shot: each thread's registration is disarmed by its own event and re-armed after the read.
    private uint ListenerEvents => _oneShot ? EPOLLIN | EPOLLET | EPOLLONESHOT : EPOLLIN | EPOLLEXCLUSIVE;

    /// <summary>Called by the loop leaving the listener: re-arms this loop's registration if it stood aside meanwhile.</summary>
    public void UnparkListener()
    {
        if (Interlocked.Exchange(ref _listenerParked, 0) == 1)
        {
            // EPOLLEXCLUSIVE registrations cannot be modified, only added again.
            Control(_oneShot ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, _engine.Listener.Socket, ListenerEvents, ListenerTag);
        }
    }

    public override void Wake() => _epoll.Wake();

    public void Dispose()
    {
        _epoll.Dispose();
        NativeMemory.Free(_events);
        NativeMemory.Free(_sockaddr);
        NativeMemory.Free(_control);
    }

    protected override void RunIo()
    {
        SessionTable table = Engine.Registry.Table;
        while (!Engine.Stopping)
        {
            int count = _epoll.Wait(_events, MaxEvents, WaitTimeout());
            Now = Environment.TickCount64;
            if (count < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                throw new SocketException(errno);
            }

            // Commands first: a hand-off queued before a session's socket was registered is older than its events.
            RunCommands();
            for (int i = 0; i < count; i++)
            {
                ulong data = EpollEvent.ReadData(_events, i);
                if (data == ListenerTag)
                {
                    ReadListener(parkIfBusy: true);
                }
                else if (data == EpollSet.WakeTag)
                {
                    _epoll.AcknowledgeWake();
                    RunCommands();
                }
                else
                {
                    (int slot, int generation) = SessionTable.FromEventData(data);
                    Session? session = table.Find(slot, generation);
                    if (session is not null && session.Home == this)
                    {
                        try
                        {
                            ReadSession(session);
                        }
                        catch (SocketException exception)
                        {
                            // epoll_ctl refused to re-arm the socket: this session cannot be served, the others can.
                            SocketFailed("epoll_ctl on a session socket", exception.ErrorCode);
                            session.RequestClose(SessionCloseReason.Error);
                        }
                    }
                }
            }

            RunCommands();
            AdvanceTimers();
            ReleaseHeldBack(all: false);
        }
    }

    protected override void RegisterSocket(Session session)
    {
        try
        {
            Control(EPOLL_CTL_ADD, session.Socket!, _oneShot ? EPOLLIN | EPOLLET | EPOLLONESHOT : EPOLLIN, SessionTable.ToEventData(session));
        }
        catch (SocketException exception)
        {
            SocketFailed("epoll_ctl(ADD)", exception.ErrorCode);
            session.RequestClose(SessionCloseReason.Error);
        }
    }

    protected override void UnregisterSocket(Session session) => Unregister(session.Socket!);

    /// <summary>
    /// Reads the listener unless another loop is reading it. Then, on a readiness event, this loop's registration
    /// stands aside (parked: removed, or left disarmed in one-shot mode) instead of spinning on a level-triggered
    /// event it cannot serve, and the reading loop re-arms it when it leaves.
    /// </summary>
    private void ReadListener(bool parkIfBusy)
    {
        LinuxListener listener = _engine.Listener;
        if (parkIfBusy && _oneShot)
        {
            Volatile.Write(ref _listenerParked, 1); // this very event disarmed the registration
        }

        if (!_engine.TryEnterListener() && !(parkIfBusy ? ParkListener(listener) : WaitForListener()))
        {
            return;
        }

        try
        {
            ReadListenerBatch(listener);
        }
        finally
        {
            _engine.ExitListener(); // re-arms every parked registration, this loop's included
        }
    }

    /// <summary>Stands aside while another loop reads the listener; true if that loop left meanwhile and this one took over.</summary>
    private bool ParkListener(LinuxListener listener)
    {
        if (_oneShot)
        {
            return false; // the event disarmed the registration and the flag is already up
        }

        Unregister(listener.Socket);
        Volatile.Write(ref _listenerParked, 1);

        // The reader may have left before it could see the flag; then nobody else would re-arm this loop.
        return _engine.TryEnterListener();
    }

    /// <summary>
    /// Before a new session's first read: the loop reading the listener may hold this peer's older datagrams. It reads
    /// a bounded batch, so wait for it (briefly) and take over.
    /// </summary>
    private bool WaitForListener()
    {
        long deadline = Environment.TickCount64 + 2;
        var spinner = default(SpinWait);
        while (!_engine.TryEnterListener())
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }

            spinner.SpinOnce();
        }

        return true;
    }

    private void ReadListenerBatch(LinuxListener listener)
    {
        Span<byte> buffer = _buffer.AsSpan(0, MaxDatagramSize);
        for (int i = 0; i < ReadBudget; i++)
        {
            nint length = listener.Receive(buffer, _sockaddr, _control, out PeerAddress peer, out PeerAddress local, out int errno);
            if (length < 0)
            {
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno != Errno.EAGAIN)
                {
                    SocketFailed("recvmsg on the listener", errno);
                }

                break;
            }

            if (Accounted(length))
            {
                RouteByAddress(peer, local, buffer[..(int)length], fromListener: true);
            }
        }
    }

    private void ReadSession(Session session)
    {
        if (!session.SourceVerified)
        {
            // The peer's datagrams that reached the listener before connect() are older than anything on its new
            // socket: route them first (they arrive here directly or through the command queue) to keep its order.
            ReadListener(parkIfBusy: false);
            RunCommands();
        }

        SafeHandle socket = session.Socket!;
        byte* buffer = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_buffer)); // pinned array
        nuint capacity = (nuint)MaxDatagramSize;
        for (int i = 0; i < ReadBudget && session.IsOpen; i++)
        {
            nint length;
            if (session.SourceVerified)
            {
                length = Libc.Recv(socket, buffer, capacity, MSG_TRUNC);
            }
            else
            {
                uint addressLength = 128;
                length = Libc.RecvFrom(socket, buffer, capacity, MSG_TRUNC, _sockaddr, &addressLength);
            }

            if (length < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                switch (errno)
                {
                    case Errno.EAGAIN:
                        if (!session.SourceVerified)
                        {
                            session.SourceVerified = true; // everything queued before connect() has been read
                            _engine.EndAcceptWindow(session);
                        }

                        goto Rearm;
                    case Errno.EINTR:
                        continue;
                    case Errno.ECONNREFUSED:
                        session.RequestClose(SessionCloseReason.PeerUnreachable);
                        return;
                    default:
                        SocketFailed("recv on a session socket", errno);
                        session.RequestClose(SessionCloseReason.Error);
                        return;
                }
            }

            if (!Accounted(length))
            {
                continue;
            }

            var datagram = new ReadOnlySpan<byte>(buffer, (int)length);
            if (!session.SourceVerified)
            {
                PeerAddress source = PeerAddress.FromLinuxSockAddr(new ReadOnlySpan<byte>(_sockaddr, PeerAddress.SockAddrV6Length));
                if (source != session.Peer)
                {
                    // Another peer's datagram that the kernel put here between bind() and connect().
                    Counters.StraysRerouted++;
                    RouteByAddress(source, session.Local, datagram, fromListener: false);
                    continue;
                }
            }

            Deliver(session, datagram);
        }

    Rearm:
        if (_oneShot && session.IsOpen)
        {
            Control(EPOLL_CTL_MOD, socket, EPOLLIN | EPOLLET | EPOLLONESHOT, SessionTable.ToEventData(session));
        }
    }

    protected override List<QueuedDatagram>? DrainSocket(Session session)
    {
        if (session.SocketBoundToWildcard)
        {
            // Disconnected, a wildcard-bound socket loses every new lookup to the listener again: from here on the
            // peer's datagrams go to the listener (and a new session). Lookups already in flight are another matter:
            // see ReleaseSocket.
            LinuxSocket.Disconnect((SafeFdHandle)session.Socket!);
        }

        return DrainQueued(session.Socket!);
    }

    /// <summary>
    /// A disconnected socket is held back for <see cref="HoldBackMilliseconds"/> and read once more before close().
    /// The kernel looks a datagram's socket up and queues it under RCU, without a lock the socket's own calls take:
    /// a lookup on another CPU can pick this socket just before its disconnect() moved it out of the listener's hash
    /// chain (its peer is cleared there before its address and hash, so for an instant it matches every peer) and
    /// queue the datagram after the drain above found the queue empty, and close() would free it uncounted. Seen in
    /// the vanishing-sources flood test: about 1 datagram in 20,000 before, caught by the second read after
    /// (docs/hardening.md, "Known gaps").
    /// </summary>
    protected override void ReleaseSocket(Session session)
    {
        if (session.SocketBoundToWildcard && !Engine.Stopping)
        {
            _heldBack.Enqueue((session, Now + HoldBackMilliseconds));
            return;
        }

        Engine.ReleaseSocket(session);
    }

    protected override void ReleaseHeldSockets() => ReleaseHeldBack(all: true);

    /// <summary>Reads the held-back sockets whose time is up once more, closes them and routes what came late.</summary>
    private void ReleaseHeldBack(bool all)
    {
        while (_heldBack.TryPeek(out (Session Session, long Until) held) && (all || held.Until <= Now))
        {
            _heldBack.Dequeue();
            List<QueuedDatagram>? late = DrainQueued(held.Session.Socket!);
            Engine.ReleaseSocket(held.Session);
            if (late is not null)
            {
                Counters.LateAfterClose += late.Count;
                RouteLeftovers(held.Session, late);
            }
        }
    }

    /// <summary>The epoll_wait timeout: the timer wheel's, shortened to the next held-back socket's release.</summary>
    private int WaitTimeout()
    {
        int timeout = WaitTimeoutMilliseconds();
        if (_heldBack.TryPeek(out (Session Session, long Until) held))
        {
            int untilRelease = (int)Math.Max(0, held.Until - Environment.TickCount64);
            timeout = timeout < 0 ? untilRelease : Math.Min(timeout, untilRelease);
        }

        return timeout;
    }

    /// <summary>Reads (and counts as received) everything queued on a socket; null when nothing was.</summary>
    private List<QueuedDatagram>? DrainQueued(SafeHandle socket)
    {
        const int MaxLeftovers = 4096; // far more than a default receive buffer holds
        List<QueuedDatagram>? leftovers = null;

        // Its own buffer: the datagram that triggered this close may still be in _buffer.
        Span<byte> buffer = _drainBuffer ??= new byte[MaxDatagramSize + 1];
        for (int i = 0; i < MaxLeftovers; i++)
        {
            uint addressLength = 128;
            nint length;
            fixed (byte* data = buffer)
            {
                length = Libc.RecvFrom(socket, data, (nuint)buffer.Length, MSG_TRUNC, _sockaddr, &addressLength);
            }

            if (length < 0)
            {
                // A pending ICMP error is reported once, ahead of the data still queued behind it.
                int errno = Marshal.GetLastPInvokeError();
                if (errno is Errno.EINTR or Errno.ECONNREFUSED)
                {
                    continue;
                }

                break;
            }

            if (Accounted(length))
            {
                byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, (int)length));
                buffer[..(int)length].CopyTo(copy);
                PeerAddress source = PeerAddress.FromLinuxSockAddr(new ReadOnlySpan<byte>(_sockaddr, PeerAddress.SockAddrV6Length));
                (leftovers ??= []).Add(new QueuedDatagram(copy, (int)length, source));
            }
        }

        return leftovers;
    }

    /// <summary>Counts a datagram read from a socket; false (and counted as dropped) when it was larger than allowed.</summary>
    private bool Accounted(nint length)
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

    private void Unregister(SafeHandle socket) => _epoll.Remove(socket);

    private void Control(int operation, SafeHandle socket, uint events, ulong data) => _epoll.Control(operation, socket, events, data);
}
