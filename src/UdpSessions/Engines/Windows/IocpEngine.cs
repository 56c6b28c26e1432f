using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using UdpSessions.Interop.Windows;
using UdpSessions.Internal;
using static UdpSessions.Interop.Windows.WindowsConstants;

namespace UdpSessions.Engines.Windows;

/// <summary>
/// The Windows engine, after the article: an overlapped listener and one I/O completion port served by a fixed pool
/// of threads in GetQueuedCompletionStatusEx. Readiness comes from zero-byte MSG_PEEK receives (one per I/O thread on
/// the listener, one per session socket), data from non-blocking WSARecvFrom into the reading thread's own buffer,
/// sessions from the address map, and replies leave through each session's connected socket.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe partial class IocpEngine : UdpEngine
{
    public static readonly nuint ListenerKey = nuint.MaxValue;

    private readonly ConcurrentQueue<nint> _parkedPeeks = new();
    private WindowsListener? _listener;
    private SessionSocketFactory? _factory;
    private SafeKernelHandle? _port;
    private IocpLoop[] _loops = [];
    private int _listenerReader;
    private int _socketsUnavailable;

    public IocpEngine(SessionServerOptions options, SessionHandler handler, ILogger logger)
        : base(options, handler, logger)
    {
    }

    public override string Description =>
        $"iocp, zero-byte peek, immediate WSAEMSGSIZE {ImmediateFailure}, RIO {(RioAvailable ? "available but not used" : $"absent (error {RioError})")}";

    public override IReadOnlyList<IoLoop> Loops => _loops;

    public WindowsListener Listener => _listener ?? throw new InvalidOperationException("The engine is not started.");

    public SafeKernelHandle Port => _port ?? throw new InvalidOperationException("The engine is not started.");

    public OverlappedBlocks Blocks { get; } = new();

    public ImmediateFailureMode ImmediateFailure { get; private set; }

    public bool RioAvailable { get; private set; }

    public int RioError { get; private set; }

    /// <summary>Zero-byte peeks that pended and later completed through the port (listener and sessions).</summary>
    public long PeeksCompleted;

    /// <summary>Zero-byte peeks that found a datagram already queued.</summary>
    public long PeeksReadyAtOnce;

    public override void Start()
    {
        WindowsSocket.EnsureStarted();
        ImmediateFailure = CompletionProbe.Mode;
        _listener = WindowsListener.Open(Options);
        _factory = new SessionSocketFactory(_listener, Options);
        LocalEndPoint = _listener.Local.ToIPEndPoint();
        try
        {
            _port = Kernel32.CreateIoCompletionPort(-1, 0, 0, (uint)Options.IoThreads);
            if (_port.IsInvalid)
            {
                throw new System.Net.Sockets.SocketException(Marshal.GetLastPInvokeError());
            }

            WindowsSocket.ThrowIfError(WindowsSocket.AttachToPort(_listener.Socket, _port, ListenerKey));
            RioAvailable = RioSupport.IsAvailable(_listener.Socket, out int rioError);
            RioError = rioError;
            _loops = new IocpLoop[Options.IoThreads];
            for (int i = 0; i < _loops.Length; i++)
            {
                _loops[i] = new IocpLoop(this, i);
            }
        }
        catch
        {
            _port?.Dispose();
            _listener.Dispose();
            throw;
        }

        foreach (IocpLoop loop in _loops)
        {
            loop.Start();
        }

        // One zero-byte peek per I/O thread. They are not tied to a thread: whichever thread dequeues a completion
        // serves the listener with its own buffer and re-posts that peek.
        for (int i = 0; i < _loops.Length; i++)
        {
            RepostListenerPeek(Blocks.Allocate());
        }
    }

    /// <summary>One thread reads the listener at a time, so that a peer's datagrams keep the order the kernel queued them in.</summary>
    public bool TryEnterListener() => Interlocked.CompareExchange(ref _listenerReader, 1, 0) == 0;

    /// <summary>A peek that completed while another thread was reading waits here; the reader re-posts it when it leaves.</summary>
    public void ParkListenerPeek(NativeOverlapped* block) => _parkedPeeks.Enqueue((nint)block);

    public void ExitListener()
    {
        Interlocked.Exchange(ref _listenerReader, 0);
        while (!Stopping && _parkedPeeks.TryDequeue(out nint block))
        {
            RepostListenerPeek((NativeOverlapped*)block);
        }
    }

    /// <summary>Posts a listener peek the caller holds. Readiness found at once becomes a completion of our own, so that
    /// any thread (not necessarily this busy one) picks it up.</summary>
    public void RepostListenerPeek(NativeOverlapped* block)
    {
        if (Stopping)
        {
            ParkListenerPeek(block); // freed at stop
            return;
        }

        switch (ZeroBytePeek.Post(Listener.Socket, block, Blocks, ImmediateFailure, out int error))
        {
            case PeekResult.Pending:
                return;
            case PeekResult.Ready:
                Interlocked.Increment(ref PeeksReadyAtOnce);
                QueueCompletion(ListenerKey, block);
                return;
            case PeekResult.ReadyBlockOrphaned:
                Interlocked.Increment(ref PeeksReadyAtOnce);
                QueueCompletion(ListenerKey, Blocks.Allocate());
                return;
            case PeekResult.SocketClosed:
                ParkListenerPeek(block);
                return;
            default:
                // The listener itself failed; its next reader tries again with a fresh block.
                Log.SocketError(Logger, "zero-byte WSARecv on the listener", error);
                ParkListenerPeek(Blocks.Allocate());
                return;
        }
    }

    /// <summary>Queues a completion for an OVERLAPPED the caller holds (one not pending in the kernel).</summary>
    public void QueueCompletion(nuint key, NativeOverlapped* block)
    {
        block->InternalLow = 0; // reads as STATUS_SUCCESS: "ready"
        if (Kernel32.PostQueuedCompletionStatus(Port, 0, key, block) == 0)
        {
            Log.SocketError(Logger, "PostQueuedCompletionStatus", Marshal.GetLastPInvokeError());
            Blocks.Orphan(block);
        }
    }

    protected override bool TryCreateSessionSocket(Session session)
    {
        IocpSessionSocket? socket = _factory!.Create(session.Peer, out int error);
        if (socket is null)
        {
            if (Interlocked.Exchange(ref _socketsUnavailable, 1) == 0)
            {
                Log.SessionSocketUnavailable(Logger, error);
            }

            return false;
        }

        Volatile.Write(ref _socketsUnavailable, 0);
        session.Socket = socket;
        return true;
    }

    protected override void PrepareSendsThroughListener(Session session)
    {
        byte[] sockaddr = new byte[WindowsSocket.SockAddrLength];
        int length = WindowsSocket.WriteSockAddr(session.Peer, sockaddr);
        session.PeerNativeAddress = sockaddr.AsSpan(0, length).ToArray();
    }

    // Sends are non-blocking WSA sends, not overlapped WSASend. Session.Send promises to return at once and to report
    // a full buffer as false; an overlapped send would instead need a copy of the datagram and an OVERLAPPED kept
    // alive per send until its completion, with no back-pressure at all (Windows queues overlapped UDP sends beyond
    // SO_SNDBUF). A UDP send completes in the call anyway, so the port would only add a completion to dequeue.
    protected override SendStatus SendCore(Session session, ReadOnlySpan<byte> datagram, bool mayQueue)
    {
        int error;
        if (session.Socket is { } socket)
        {
            fixed (byte* data = datagram)
            {
                error = WinSock.Send(socket, data, datagram.Length, 0) >= 0 ? 0 : Marshal.GetLastPInvokeError();
            }
        }
        else
        {
            error = Listener.SendTo(datagram, (byte[])session.PeerNativeAddress!);
        }

        return error switch
        {
            0 => SendStatus.Sent,
            WSAEWOULDBLOCK or WSAENOBUFS => SendStatus.WouldBlock,
            // Microsoft: on a connected UDP socket, an earlier datagram drew an ICMP port unreachable.
            WSAECONNRESET or WSAECONNREFUSED or WSAENETRESET => SendStatus.PeerUnreachable,
            WSAEMSGSIZE => throw DatagramTooLarge(datagram.Length),
            _ => SendFailed(error),
        };
    }

    protected override bool PollWritable(Session session, int timeoutMilliseconds)
    {
        SafeHandle socket = session.Socket ?? Listener.Socket;
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            WsaPollFd poll = new() { Socket = socket.DangerousGetHandle(), Events = POLLWRNORM };
            return WinSock.WSAPoll(&poll, 1, timeoutMilliseconds) > 0;
        }
        catch (ObjectDisposedException)
        {
            return true; // closed: the next send attempt reports it
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// After every session socket was closed: closes the listener, then takes the completions of the operations that
    /// closing cancelled, so that each OVERLAPPED is freed only once the kernel is done with it.
    /// </summary>
    protected override void ReleaseListener()
    {
        _listener?.Dispose();
        if (_port is null)
        {
            return;
        }

        foreach (IocpLoop loop in _loops)
        {
            loop.ReleaseHeldPeeks();
        }

        while (_parkedPeeks.TryDequeue(out nint parked))
        {
            Blocks.Release((NativeOverlapped*)parked);
        }

        OverlappedEntry* entries = stackalloc OverlappedEntry[64];
        var clock = Stopwatch.StartNew();
        while (Blocks.Expected > 0 && clock.ElapsedMilliseconds < 2000)
        {
            uint removed = 0;
            if (Kernel32.GetQueuedCompletionStatusEx(_port, entries, 64, &removed, 100, 0) == 0)
            {
                continue;
            }

            for (uint i = 0; i < removed; i++)
            {
                Blocks.Release(entries[i].Overlapped);
            }
        }

        Blocks.ReleaseOrphans();
        if (Blocks.Count > 0)
        {
            // Never seen; freeing them could let the kernel write into freed memory, so they are left to the process.
            Log.SocketError(Logger, $"stop: {Blocks.Count} overlapped operations never completed (their memory is kept)", 0);
        }

        _port.Dispose();
        foreach (IocpLoop loop in _loops)
        {
            loop.Dispose();
        }
    }

    private SendStatus SendFailed(int error)
    {
        Log.SocketError(Logger, "send", error);
        return SendStatus.Failed;
    }
}
