using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.EpollConstants;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// One I/O thread of the epoll engine serving TCP: the shared listening socket, and the connections this loop
/// accepted. Connections are level-triggered whatever <see cref="EpollMode"/> says: a stream read is bounded per event,
/// and what remains must bring the loop back.
/// </summary>
internal sealed unsafe class EpollTcpLoop : IoLoop, IDisposable
{
    private const ulong ListenerTag = ulong.MaxValue;
    private const int MaxEvents = 256;
    private const int AcceptBudget = 64;
    private const int ReadBudget = 16;
    private const int AcceptPauseMilliseconds = 100;
    private const int ReadBufferSize = 64 * 1024;

    private readonly EpollTcpEngine _engine;
    private readonly EpollSet _epoll = new();
    private readonly byte[] _buffer;
    private readonly int _readSize;
    private readonly byte* _events;
    private readonly byte* _sockaddr;
    private long _acceptPausedUntil;

    public EpollTcpLoop(EpollTcpEngine engine, int index)
        : base(engine, index)
    {
        _engine = engine;
        TcpOptions tcp = engine.Options.Tcp;
        // Raw mode delivers each read as it is: a read is never larger than the largest message.
        _readSize = tcp.Framing == TcpFraming.Raw ? Math.Min(tcp.MaxFrameSize, ReadBufferSize) : ReadBufferSize;
        _buffer = GC.AllocateUninitializedArray<byte>(_readSize, pinned: true);
        _events = (byte*)NativeMemory.AllocZeroed((nuint)(MaxEvents * EpollEvent.Size));
        _sockaddr = (byte*)NativeMemory.AllocZeroed(128);
        Control(EPOLL_CTL_ADD, engine.Listener.Socket, ListenerEvents, ListenerTag);
    }

    public override void Wake() => _epoll.Wake();

    /// <summary>Changes a connection's interest set (any thread; the connection's lock orders the calls).</summary>
    public void Modify(SafeFdHandle socket, uint events, Session session)
    {
        if (!TryControl(EPOLL_CTL_MOD, socket, events, SessionTable.ToEventData(session), out int errno))
        {
            SocketFailed("epoll_ctl(MOD) on a TCP connection", errno);
            session.RequestClose(SessionCloseReason.Error);
        }
    }

    /// <summary>Adds an admitted connection to this loop's epoll.</summary>
    public bool TryRegister(SafeFdHandle socket, uint events, Session session, out int errno) =>
        TryControl(EPOLL_CTL_ADD, socket, events, SessionTable.ToEventData(session), out errno);

    public void Unregister(SafeHandle socket) => _epoll.Remove(socket);

    public void Dispose()
    {
        _epoll.Dispose();
        NativeMemory.Free(_events);
        NativeMemory.Free(_sockaddr);
    }

    protected override void RunIo()
    {
        SessionTable table = Engine.Registry.Table;
        while (!Engine.Stopping)
        {
            int timeout = WaitTimeoutMilliseconds();
            if (_acceptPausedUntil != 0)
            {
                timeout = timeout < 0 ? AcceptPauseMilliseconds : Math.Min(timeout, AcceptPauseMilliseconds);
            }

            int count = _epoll.Wait(_events, MaxEvents, timeout);
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

            RunCommands();
            for (int i = 0; i < count; i++)
            {
                ulong data = EpollEvent.ReadData(_events, i);
                if (data == ListenerTag)
                {
                    AcceptBatch();
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
                    if (session is not null && session.Home == this && session.IsOpen)
                    {
                        Serve(session, EpollEvent.ReadEvents(_events, i));
                    }
                }
            }

            RunCommands();
            AdvanceTimers();
            if (_acceptPausedUntil != 0 && Now >= _acceptPausedUntil)
            {
                if (TryControl(EPOLL_CTL_ADD, _engine.Listener.Socket, ListenerEvents, ListenerTag, out int errno))
                {
                    _acceptPausedUntil = 0;
                }
                else
                {
                    SocketFailed("epoll_ctl(ADD) of the TCP listener", errno);
                    _acceptPausedUntil = Now + AcceptPauseMilliseconds; // try again later; the other loops still accept
                }
            }
        }
    }

    protected override void RegisterSocket(Session session)
    {
    }

    protected override void UnregisterSocket(Session session)
    {
    }

    private void Serve(Session session, uint events)
    {
        var connection = (EpollTcpConnection)session.Connection!;
        if ((events & EPOLLOUT) != 0)
        {
            connection.Flush();
        }

        if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 && (connection.Interest & EPOLLIN) != 0)
        {
            Read(session, connection.Socket);
        }
        else if ((events & (EPOLLHUP | EPOLLERR)) != 0 && (connection.Interest & EPOLLOUT) == 0)
        {
            session.RequestClose(SessionCloseReason.PeerReset); // nothing left to read or write on a dead socket
        }
    }

    private void Read(Session session, SafeFdHandle socket)
    {
        byte* buffer = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_buffer)); // pinned array
        for (int i = 0; i < ReadBudget && session.IsOpen; i++)
        {
            nint length = Libc.Recv(socket, buffer, (nuint)_readSize, 0);
            if (length > 0)
            {
                ReceiveStream(session, new ReadOnlySpan<byte>(buffer, (int)length));
                if (length < _readSize)
                {
                    return; // the socket is most likely empty; level triggering brings us back if not
                }

                continue;
            }

            if (length == 0)
            {
                EndOfStream(session);
                return;
            }

            int errno = Marshal.GetLastPInvokeError();
            switch (errno)
            {
                case Errno.EINTR:
                    continue;
                case Errno.EAGAIN:
                    return;
                default:
                    if (EpollTcpConnection.CloseReasonOf(errno) == SessionCloseReason.Error)
                    {
                        SocketFailed("recv on a TCP connection", errno);
                    }

                    session.RequestClose(EpollTcpConnection.CloseReasonOf(errno));
                    return;
            }
        }
    }

    private void AcceptBatch()
    {
        LinuxTcpListener listener = _engine.Listener;
        for (int i = 0; i < AcceptBudget && !Engine.Stopping; i++)
        {
            SafeFdHandle? socket = listener.Accept(_sockaddr, out PeerAddress peer, out int errno);
            if (socket is null)
            {
                if (errno is Errno.EAGAIN)
                {
                    return;
                }

                if (errno is Errno.EINTR or Errno.ECONNABORTED)
                {
                    continue;
                }

                // Out of fds (EMFILE) or memory: the listener stays readable, so level triggering would spin on it.
                Log.AcceptFailed(Engine.Logger, errno, AcceptPauseMilliseconds);
                Counters.SocketErrors++;
                Unregister(listener.Socket);
                _acceptPausedUntil = Now + AcceptPauseMilliseconds;
                return;
            }

            Admit(socket, peer);
        }
    }

    private void Admit(SafeFdHandle socket, PeerAddress peer)
    {
        if (Engine.Options.Tcp.NoDelay)
        {
            LinuxSocket.SetOption(socket, IPPROTO_TCP, TCP_NODELAY, 1);
        }

        var connection = new EpollTcpConnection(socket, this, Engine.Options.Tcp);
        var session = new Session(this, peer, LinuxSocket.GetLocalAddress(socket)) { Connection = connection };
        connection.Session = session;
        if (!AdmitConnection(session))
        {
            socket.Dispose();
            return;
        }

        if (!connection.Register(out int errno))
        {
            SocketFailed("epoll_ctl(ADD) on a TCP connection", errno);
            session.RequestClose(SessionCloseReason.Error);
        }
    }

    // Level-triggered with EPOLLEXCLUSIVE: a connection wakes one (or a few) loops, not all.
    private const uint ListenerEvents = EPOLLIN | EPOLLEXCLUSIVE;

    private void Control(int operation, SafeHandle socket, uint events, ulong data) => _epoll.Control(operation, socket, events, data);

    private bool TryControl(int operation, SafeHandle socket, uint events, ulong data, out int errno) =>
        _epoll.TryControl(operation, socket, events, data, out errno);
}
