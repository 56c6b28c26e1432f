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
    private const ulong WakeTag = ulong.MaxValue - 1;
    private const int MaxEvents = 256;

    // Bounded reads per readiness event keep one busy socket from starving the others; level-triggered epoll (or the
    // one-shot re-arm, which re-checks readiness) brings the rest back on the next wait.
    private const int ReadBudget = 64;

    private readonly EpollEngine _engine;
    private readonly SafeFdHandle _epoll;
    private readonly SafeFdHandle _wake;
    private readonly bool _oneShot;
    private readonly byte[] _buffer;
    private readonly byte* _events;
    private readonly byte* _sockaddr;
    private readonly byte* _control;
    private int _wakePending;

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

        int epoll = Libc.EpollCreate1(EPOLL_CLOEXEC);
        _epoll = epoll >= 0 ? new SafeFdHandle(epoll) : throw new SocketException(Marshal.GetLastPInvokeError());
        int wake = Libc.EventFd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        _wake = wake >= 0 ? new SafeFdHandle(wake) : throw new SocketException(Marshal.GetLastPInvokeError());
        Control(EPOLL_CTL_ADD, _wake, EPOLLIN, WakeTag);

        // Level-triggered: EPOLLEXCLUSIVE wakes one (or a few) of the threads waiting on the listener instead of all.
        // One-shot: each thread's registration is disarmed by its own event and re-armed after the read.
        Control(EPOLL_CTL_ADD, engine.Listener.Socket, _oneShot ? EPOLLIN | EPOLLET | EPOLLONESHOT : EPOLLIN | EPOLLEXCLUSIVE, ListenerTag);
    }

    public override void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            Libc.Write(_wake, &one, sizeof(ulong));
        }
    }

    public void Dispose()
    {
        _epoll.Dispose();
        _wake.Dispose();
        NativeMemory.Free(_events);
        NativeMemory.Free(_sockaddr);
        NativeMemory.Free(_control);
    }

    protected override void RunIo()
    {
        SessionTable table = Engine.Registry.Table;
        while (!Engine.Stopping)
        {
            int count = Libc.EpollWait(_epoll, _events, MaxEvents, WaitTimeoutMilliseconds());
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
                    ReadListener();
                }
                else if (data == WakeTag)
                {
                    ulong value;
                    Libc.Read(_wake, &value, sizeof(ulong));
                    Volatile.Write(ref _wakePending, 0);
                    RunCommands();
                }
                else
                {
                    (int slot, int generation) = SessionTable.FromEventData(data);
                    Session? session = table.Find(slot, generation);
                    if (session is not null && session.Home == this)
                    {
                        ReadSession(session);
                    }
                }
            }

            RunCommands();
            AdvanceTimers();
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

    protected override void UnregisterSocket(Session session)
    {
        byte* unused = stackalloc byte[16];
        Libc.EpollCtl(_epoll, EPOLL_CTL_DEL, session.Socket!, unused);
    }

    private void ReadListener()
    {
        LinuxListener listener = _engine.Listener;
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

        if (_oneShot)
        {
            Control(EPOLL_CTL_MOD, listener.Socket, EPOLLIN | EPOLLET | EPOLLONESHOT, ListenerTag);
        }
    }

    private void ReadSession(Session session)
    {
        if (!session.SourceVerified)
        {
            // The peer's datagrams that reached the listener before connect() are older than anything on its new
            // socket: route them first (they arrive here directly or through the command queue) to keep its order.
            ReadListener();
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
                        session.SourceVerified = true; // everything queued before connect() has been read
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
        const int MaxLeftovers = 4096; // far more than a default receive buffer holds
        List<QueuedDatagram>? leftovers = null;
        Span<byte> buffer = _buffer.AsSpan(0, MaxDatagramSize);
        for (int i = 0; i < MaxLeftovers; i++)
        {
            uint addressLength = 128;
            nint length;
            fixed (byte* data = buffer)
            {
                length = Libc.RecvFrom(session.Socket!, data, (nuint)buffer.Length, MSG_TRUNC, _sockaddr, &addressLength);
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

    private void Control(int operation, SafeHandle socket, uint events, ulong data)
    {
        byte* epollEvent = stackalloc byte[16];
        EpollEvent.Write(epollEvent, events, data);
        if (Libc.EpollCtl(_epoll, operation, socket, epollEvent) != 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
    }
}
