using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using UdpSessions.Interop.Windows;
using UdpSessions.Internal;
using static UdpSessions.Interop.Windows.WindowsConstants;

namespace UdpSessions.Engines.Windows;

/// <summary>
/// One I/O thread of the IOCP engine. All threads wait on the one completion port, so a completion can reach any of
/// them: a listener peek is served by whoever dequeues it; a session peek is served by the session's home thread
/// (the dequeuing thread hands the session over, with the OVERLAPPED still pending nowhere). A thread is woken for
/// its commands by a user APC, the one way to interrupt one particular thread in GetQueuedCompletionStatusEx.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class IocpLoop : IoLoop, IDisposable
{
    private const int MaxEntries = 64;

    // Bounded reads per readiness keep one busy socket from starving the others; what is left shows up again as a
    // peek that is ready at once.
    private const int ReadBudget = 64;

    private readonly IocpEngine _engine;
    private readonly byte[] _buffer;
    private byte[]? _drainBuffer;
    private readonly byte* _sockaddr;
    private readonly ConcurrentQueue<Session> _ready = new();
    private SafeKernelHandle? _thread;
    private int _wakePending;

    public IocpLoop(IocpEngine engine, int index)
        : base(engine, index)
    {
        _engine = engine;
        _buffer = GC.AllocateUninitializedArray<byte>(engine.Options.MaxDatagramSize, pinned: true);
        _sockaddr = (byte*)NativeMemory.AllocZeroed(128);
    }

    public override void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0 && Volatile.Read(ref _thread) is { } thread)
        {
            try
            {
                Kernel32.QueueUserAPC(s_wakeApc, thread, 0);
            }
            catch (ObjectDisposedException)
            {
                // the loop has ended
            }
        }
    }

    /// <summary>At stop, after the loop's thread ended: frees the peeks of sessions still waiting in the ready queue.</summary>
    public void ReleaseHeldPeeks()
    {
        while (_ready.TryDequeue(out Session? session))
        {
            _engine.Blocks.Release(((IocpSessionSocket)session.Socket!).Peek);
        }
    }

    public void Dispose()
    {
        _thread?.Dispose();
        NativeMemory.Free(_sockaddr);
    }

    protected override void RunIo()
    {
        SafeKernelHandle thread = Kernel32.OpenThread(THREAD_SET_CONTEXT, 0, Kernel32.GetCurrentThreadId());
        if (thread.IsInvalid)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        Volatile.Write(ref _thread, thread);
        OverlappedEntry* entries = stackalloc OverlappedEntry[MaxEntries];
        while (!Engine.Stopping)
        {
            // The APC is only a kick: any alertable wait on this thread (a contended lock in a handler, Thread.Sleep)
            // can run it instead of the port wait, and wakes before the thread handle was published queued none. So
            // the flag is cleared here, right before the one wait that matters, and anything a wake could have been
            // for (a stop, commands, handed-over sessions) makes that wait a poll; a wake from now on queues an APC
            // this wait will see.
            Interlocked.Exchange(ref _wakePending, 0);
            int timeout = Engine.Stopping || HasPendingCommands || !_ready.IsEmpty ? 0 : WaitTimeoutMilliseconds();
            uint removed = 0;
            bool dequeued = Kernel32.GetQueuedCompletionStatusEx(_engine.Port, entries, MaxEntries, &removed, timeout < 0 ? INFINITE : (uint)timeout, 1) != 0;
            Now = Environment.TickCount64;
            if (!dequeued)
            {
                removed = 0;
                int error = Marshal.GetLastPInvokeError();
                if (error is not (WAIT_TIMEOUT or WAIT_IO_COMPLETION))
                {
                    throw new SocketException(error);
                }
            }

            RunCommands();
            ServeReadySessions();
            for (uint i = 0; i < removed; i++)
            {
                if (entries[i].CompletionKey == IocpEngine.ListenerKey)
                {
                    Interlocked.Increment(ref _engine.PeeksCompleted);
                    ServeListener(entries[i].Overlapped);
                }
                else
                {
                    OnSessionPeekCompleted(entries[i].CompletionKey, entries[i].Overlapped);
                }
            }

            RunCommands();
            ServeReadySessions();
            AdvanceTimers();
        }
    }

    /// <summary>Associates a new session's socket with the port and posts its first peek.</summary>
    protected override void RegisterSocket(Session session)
    {
        var socket = (IocpSessionSocket)session.Socket!;
        int error = WindowsSocket.AttachToPort(socket, _engine.Port, (nuint)SessionTable.ToEventData(session));
        if (error != 0)
        {
            SocketFailed("CreateIoCompletionPort on a session socket", error);
            session.RequestClose(SessionCloseReason.Error);
            return;
        }

        socket.Peek = _engine.Blocks.Allocate();
        PostSessionPeek(session, socket);
    }

    // Closing the socket (next, in ReleaseSocket) cancels a pending peek; its completion finds no session and frees it.
    protected override void UnregisterSocket(Session session)
    {
    }

    protected override List<QueuedDatagram>? DrainSocket(Session session)
    {
        const int MaxLeftovers = 4096;
        List<QueuedDatagram>? leftovers = null;
        // Its own buffer: the datagram that triggered this close may still be in _buffer.
        Span<byte> buffer = _drainBuffer ??= new byte[MaxDatagramSize];
        for (int i = 0; i < MaxLeftovers; i++)
        {
            int length = WindowsSocket.ReceiveFrom(session.Socket!, buffer, _sockaddr, out int error);
            if (length < 0 && error == WSAEMSGSIZE)
            {
                Accounted(buffer.Length, truncated: true);
                continue;
            }

            if (length < 0)
            {
                if (error is WSAECONNRESET or WSAEINTR)
                {
                    continue; // a pending ICMP error is reported once, ahead of the data behind it
                }

                break;
            }

            Accounted(length, truncated: false);
            byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
            buffer[..length].CopyTo(copy);
            (leftovers ??= []).Add(new QueuedDatagram(copy, length, WindowsSocket.ReadSockAddr(_sockaddr)));
        }

        return leftovers;
    }

    /// <summary>
    /// The APC routine: anything at all, since running it is what makes GetQueuedCompletionStatusEx return
    /// WAIT_IO_COMPLETION. A native no-op, not an [UnmanagedCallersOnly] method: managed code entered from an APC in
    /// the middle of a wait hung the process under Wine now and then (GC suspension of a thread inside a reverse
    /// P/Invoke inside a native wait). kernel32!GetCurrentThreadId takes no argument, so on x64 the APC's argument in
    /// RCX is simply ignored.
    /// </summary>
    private static readonly delegate* unmanaged<nuint, void> s_wakeApc =
        (delegate* unmanaged<nuint, void>)NativeLibrary.GetExport(NativeLibrary.Load("kernel32.dll"), "GetCurrentThreadId");

    /// <summary>
    /// A listener peek completed (or was found ready). Reads the listener until WSAEWOULDBLOCK, unless another thread
    /// is reading it: then the peek is parked and that thread re-posts it when it leaves.
    /// </summary>
    private void ServeListener(NativeOverlapped* block)
    {
        if (!_engine.TryEnterListener())
        {
            _engine.ParkListenerPeek(block);
            // The reader may have left before it could see the parked peek; then nobody else would re-post it.
            if (!_engine.TryEnterListener())
            {
                return;
            }

            block = null; // parked: the exit below re-posts it with the others
        }

        try
        {
            ReadListener();
            if (block is not null)
            {
                _engine.RepostListenerPeek(block);
            }
        }
        finally
        {
            _engine.ExitListener();
        }
    }

    private void ReadListener()
    {
        Span<byte> buffer = _buffer;
        SafeWinSocketHandle listener = _engine.Listener.Socket;
        PeerAddress local = _engine.Listener.Local;
        for (int i = 0; i < ReadBudget && !Engine.Stopping; i++)
        {
            int length = WindowsSocket.ReceiveFrom(listener, buffer, _sockaddr, out int error);
            if (length < 0)
            {
                if (error == WSAEMSGSIZE)
                {
                    Accounted(buffer.Length, truncated: true);
                    continue;
                }

                if (error is WSAECONNRESET or WSAEINTR)
                {
                    continue; // should not happen with SIO_UDP_CONNRESET off; never a reason to stop reading
                }

                if (error != WSAEWOULDBLOCK)
                {
                    SocketFailed("WSARecvFrom on the listener", error);
                }

                return;
            }

            Accounted(length, truncated: false);
            RouteByAddress(WindowsSocket.ReadSockAddr(_sockaddr), local, buffer[..length], RouteOrigin.Listener);
        }
    }

    /// <summary>Any thread: a session's peek completed. The home thread serves it; another thread hands it over.</summary>
    private void OnSessionPeekCompleted(nuint key, NativeOverlapped* block)
    {
        (int slot, int generation) = SessionTable.FromEventData(key);
        Session? session = Engine.Registry.Table.Find(slot, generation);
        if (session is null || !session.IsOpen || session.Socket is not IocpSessionSocket socket || socket.Peek != block)
        {
            _engine.Blocks.Release(block); // its session is gone (closing cancelled it), or an orphan's late completion
            return;
        }

        Interlocked.Increment(ref _engine.PeeksCompleted);
        uint status = (uint)block->InternalLow;
        if (status is STATUS_PORT_UNREACHABLE or STATUS_CONNECTION_RESET or STATUS_CONNECTION_REFUSED
            or STATUS_HOST_UNREACHABLE or STATUS_NETWORK_UNREACHABLE)
        {
            // Microsoft: a connected UDP socket reports an ICMP unreachable for its peer as WSAECONNRESET. This
            // session's peer only; the listener has SIO_UDP_CONNRESET off. (Wine never reports it: untested here.)
            _engine.Blocks.Release(block);
            socket.Peek = null;
            session.RequestClose(SessionCloseReason.PeerUnreachable);
            return;
        }

        if (session.Home == this)
        {
            ServeSession(session);
        }
        else
        {
            var home = (IocpLoop)session.Home;
            home._ready.Enqueue(session);
            home.Wake();
        }
    }

    private void ServeReadySessions()
    {
        while (_ready.TryDequeue(out Session? session))
        {
            ServeSession(session);
        }
    }

    /// <summary>Home thread, holding the session's peek: reads the socket until WSAEWOULDBLOCK, then re-posts the peek.</summary>
    private void ServeSession(Session session)
    {
        var socket = (IocpSessionSocket)session.Socket!;
        if (!session.IsOpen)
        {
            ReleasePeek(socket);
            return;
        }

        if (!session.SourceVerified)
        {
            // The peer's datagrams that reached the listener before connect() are older than anything on its new
            // socket (where Windows routes them there at all): route them first to keep the peer's order.
            ServeListenerBeforeFirstRead();
            RunCommands();
        }

        bool drained = false;
        for (int i = 0; i < ReadBudget && session.IsOpen; i++)
        {
            int length = WindowsSocket.ReceiveFrom(socket, _buffer, _sockaddr, out int error);
            if (length < 0)
            {
                if (error == WSAEMSGSIZE)
                {
                    Accounted(_buffer.Length, truncated: true);
                    continue;
                }

                if (error == WSAEWOULDBLOCK)
                {
                    drained = true;
                    break;
                }

                if (error == WSAEINTR)
                {
                    continue;
                }

                session.RequestClose(error is WSAECONNRESET or WSAENETRESET ? SessionCloseReason.PeerUnreachable : SessionCloseReason.Error);
                if (error is not (WSAECONNRESET or WSAENETRESET))
                {
                    SocketFailed("WSARecvFrom on a session socket", error);
                }

                break;
            }

            Accounted(length, truncated: false);
            PeerAddress source = WindowsSocket.ReadSockAddr(_sockaddr);
            ReadOnlySpan<byte> datagram = _buffer.AsSpan(0, length);
            if (source != session.Peer)
            {
                // Another peer's datagram that landed here between bind() and connect().
                Counters.StraysRerouted++;
                RouteByAddress(source, session.Local, datagram, RouteOrigin.Stray);
                continue;
            }

            Deliver(session, datagram);
        }

        if (!session.IsOpen)
        {
            ReleasePeek(socket);
            return;
        }

        if (drained)
        {
            session.SourceVerified = true;
        }

        PostSessionPeek(session, socket);
    }

    /// <summary>Posts the session's peek, which this thread holds; a datagram found at once comes back through the port.</summary>
    private void PostSessionPeek(Session session, IocpSessionSocket socket)
    {
        nuint key = (nuint)SessionTable.ToEventData(session);
        switch (ZeroBytePeek.Post(socket, socket.Peek, _engine.Blocks, _engine.ImmediateFailure, out int error))
        {
            case PeekResult.Pending:
                return;
            case PeekResult.Ready:
                Interlocked.Increment(ref _engine.PeeksReadyAtOnce);
                _engine.QueueCompletion(key, socket.Peek);
                return;
            case PeekResult.ReadyBlockOrphaned:
                Interlocked.Increment(ref _engine.PeeksReadyAtOnce);
                socket.Peek = _engine.Blocks.Allocate();
                _engine.QueueCompletion(key, socket.Peek);
                return;
            case PeekResult.SocketClosed:
                ReleasePeek(socket);
                return;
            default:
                socket.Peek = null; // orphaned by Post
                if (error is WSAECONNRESET or WSAENETRESET)
                {
                    session.RequestClose(SessionCloseReason.PeerUnreachable);
                }
                else
                {
                    SocketFailed("zero-byte WSARecv on a session socket", error);
                    session.RequestClose(SessionCloseReason.Error);
                }

                return;
        }
    }

    private void ReleasePeek(IocpSessionSocket socket)
    {
        if (socket.Peek is not null)
        {
            _engine.Blocks.Release(socket.Peek);
            socket.Peek = null;
        }
    }

    /// <summary>Before a new session's first read: takes the listener (waiting briefly for its reader) and reads it.</summary>
    private void ServeListenerBeforeFirstRead()
    {
        long deadline = Environment.TickCount64 + 2;
        var spinner = default(SpinWait);
        while (!_engine.TryEnterListener())
        {
            if (Environment.TickCount64 > deadline)
            {
                return;
            }

            spinner.SpinOnce();
        }

        try
        {
            ReadListener();
        }
        finally
        {
            _engine.ExitListener();
        }
    }

    /// <summary>Counts a datagram read; a truncated one (larger than MaxDatagramSize) is dropped and counted.</summary>
    private void Accounted(int length, bool truncated)
    {
        Counters.DatagramsReceived++;
        Counters.BytesReceived += length;
        if (truncated)
        {
            Counters.Dropped[(int)DropReason.Oversized]++;
        }
    }
}
