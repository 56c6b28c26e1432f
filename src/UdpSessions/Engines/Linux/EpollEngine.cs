using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// The Linux engine: a fixed pool of I/O threads, each with its own epoll instance and its own listening socket in one
/// SO_REUSEPORT group, read in batches (recvmmsg) and answered in batches (sendmmsg). Sessions start in the address
/// map of the thread the kernel steered their peer to, and get a connected socket of their own when the placement
/// policy says it pays (<see cref="SessionPlacement"/>).
/// </summary>
internal sealed unsafe partial class EpollEngine : UdpEngine
{
    // Kernels before 6.13 have no 4-tuple hash for connected UDP sockets: every datagram to the port scores them all.
    private static readonly bool s_hasFourTupleHash = Environment.OSVersion.Version >= new Version(6, 13);

    private ListenerGroup? _listeners;
    private SessionSocketFactory? _factory;
    private GracePeriods? _gracePeriods;
    private EpollLoop[] _loops = [];
    private int _socketsUnavailable;

    public EpollEngine(SessionServerOptions options, SessionHandler handler, ILogger logger)
        : base(options, handler, logger)
    {
        Placement = options.SocketBudget == 0 ? SessionPlacement.AddressMap : options.Placement;
        if (Placement == SessionPlacement.Adaptive && !s_hasFourTupleHash)
        {
            Placement = SessionPlacement.AddressMap;
        }

        SocketBudget = options.SocketBudget ?? (Placement == SessionPlacement.Adaptive ? SessionServerOptions.DefaultAdaptiveSocketBudget : int.MaxValue);
    }

    /// <summary>The placement in force (Adaptive falls back to AddressMap on kernels without the 4-tuple hash).</summary>
    public SessionPlacement Placement { get; private set; }

    public int SocketBudget { get; }

    /// <summary>Datagrams all listeners read in the last second (approximate: each loop's last full second).</summary>
    public long ListenerDatagramsPerSecond
    {
        get
        {
            long total = 0;
            foreach (EpollLoop loop in _loops)
            {
                total += loop.ListenerDatagramsLastSecond;
            }

            return total;
        }
    }

    public override string Description => $"epoll, {Options.EpollMode}, {Placement}";

    public override IReadOnlyList<IoLoop> Loops => _loops;

    public ListenerGroup Listeners => _listeners ?? throw new InvalidOperationException("The engine is not started.");

    public GracePeriods GracePeriods => _gracePeriods!;

    public override void Start()
    {
        if (!s_hasFourTupleHash && Options.Placement == SessionPlacement.OwnSocket && Options.SocketBudget != 0)
        {
            Log.OldKernel(Logger, Environment.OSVersion.Version);
        }

        _listeners = OpenListeners();
        Options.IoThreads = _listeners.Listeners.Length; // adopted sockets bring their own count
        KeyIncludesLocal = _listeners.IsWildcard;
        _factory = new SessionSocketFactory(_listeners, Options);
        LocalEndPoint = _listeners.Local.ToIPEndPoint();
        CanKeepSessions = s_hasFourTupleHash && DecideSessionSockets();
        try
        {
            _gracePeriods = GracePeriods.Start();
            _loops = new EpollLoop[Options.IoThreads];
            for (int i = 0; i < _loops.Length; i++)
            {
                _loops[i] = new EpollLoop(this, i, _listeners.Listeners[i]) { TakenOver = Inherited?.Backlog[i] };
            }
        }
        catch
        {
            ReleaseListener();
            throw;
        }

        foreach (EpollLoop loop in _loops)
        {
            loop.Start();
        }
    }

    /// <summary>Sessions are placed by their loop (<see cref="EpollLoop"/>), never at accept time.</summary>
    public override bool TryAttachSocket(Session session) => false;

    /// <summary>Gives a session a connected socket of its own, within the budget (none while draining) and the fd limit.</summary>
    public PromotionResult TryPromote(Session session)
    {
        if (!TryReserveOwnSocket(Draining ? int.MaxValue : SocketBudget))
        {
            return PromotionResult.BudgetSpent;
        }

        SafeFdHandle? socket = _factory!.Create(session.Peer, session.Local, out int errno);
        if (socket is null)
        {
            ReturnOwnSocket();
            if (errno == 0)
            {
                return PromotionResult.AddressMismatch;
            }

            if (Interlocked.Exchange(ref _socketsUnavailable, 1) == 0)
            {
                Log.SessionSocketUnavailable(Logger, errno);
            }

            return Errno.IsResourceExhaustion(errno) ? PromotionResult.NoSocket : PromotionResult.Failed;
        }

        Volatile.Write(ref _socketsUnavailable, 0);
        if (Options.ReceiveCoalescing)
        {
            GroSegments.Enable(socket, SendCounters);
        }

        UdpSegmentation.PrepareSender(socket, Options);

        session.Socket = socket;
        return PromotionResult.Promoted;
    }

    public void EndAcceptWindow(Session session) => _factory!.EndWindow((SafeFdHandle)session.Socket!);

    protected override bool TryCreateSessionSocket(Session session) => false;

    protected override void PrepareSendsThroughListener(Session session)
    {
    }

    protected override SendStatus SendCore(Session session, ReadOnlySpan<byte> datagram, bool mayQueue)
    {
        EpollLoop? current = EpollLoop.Current;
        if (current is not null && current.Engine == this)
        {
            if (mayQueue && current.TryQueueSend(session, datagram))
            {
                return SendStatus.Queued;
            }

            current.FlushSends(); // what this thread queued before goes out first
        }

        nint sent;
        int errno;
        if (session.Socket is { } socket)
        {
            fixed (byte* data = datagram)
            {
                sent = Libc.Send(socket, data, (nuint)datagram.Length, 0);
            }

            errno = sent < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        else
        {
            sent = Listeners.Listeners[session.Home.Index].SendTo(datagram, session.Peer, session.Local, out errno);
        }

        return sent >= 0 ? SendStatus.Sent : StatusOf(session, errno, datagram.Length);
    }

    /// <summary>What a send error means for the session and its caller.</summary>
    public SendStatus StatusOf(Session session, int errno, int length) => errno switch
    {
        Errno.EAGAIN or Errno.ENOBUFS => SendStatus.WouldBlock,
        Errno.ECONNREFUSED => SendStatus.PeerUnreachable,
        // A closed session's socket is shut down for writing before it is retired (EPIPE); a send racing that is a
        // send to a closed session, not a socket failure.
        Errno.EPIPE or Errno.EDESTADDRREQ when !session.IsOpen => SendStatus.Closed,
        Errno.EMSGSIZE => throw DatagramTooLarge(length),
        _ => SendFailed(errno),
    };

    public override bool SendFromListener(in PeerAddress peer, in PeerAddress local, ReadOnlySpan<byte> datagram)
    {
        LinuxListener listener = Listeners.Listeners[EpollLoop.Current?.Index ?? 0];
        return listener.SendTo(datagram, peer, local, out _) >= 0;
    }

    protected override bool PollWritable(Session session, int timeoutMilliseconds)
    {
        SafeHandle socket = session.Socket ?? Listeners.Listeners[session.Home.Index].Sender;
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            PollFd poll = new() { Fd = (int)socket.DangerousGetHandle(), Events = EpollConstants.POLLOUT };
            return Libc.Poll(&poll, 1, timeoutMilliseconds) > 0;
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

    protected override void ReleaseListener()
    {
        _gracePeriods?.Dispose();
        foreach (EpollLoop? loop in _loops)
        {
            loop?.Dispose();
        }

        _listeners?.Dispose();
    }

    private SendStatus SendFailed(int errno)
    {
        Log.SocketError(Logger, "send", errno);
        return SendStatus.Failed;
    }
}

/// <summary>What became of a promotion attempt.</summary>
internal enum PromotionResult
{
    Promoted,
    BudgetSpent,
    NoSocket,
    AddressMismatch,
    Failed,
}
