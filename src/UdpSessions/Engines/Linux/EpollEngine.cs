using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// The Linux engine: a connected socket per session and a fixed pool of threads, each with its own epoll instance.
/// The listener is in every thread's epoll; a session socket only in that of the thread that accepted it.
/// </summary>
internal sealed unsafe partial class EpollEngine : UdpEngine
{
    private LinuxListener? _listener;
    private SessionSocketFactory? _factory;
    private EpollLoop[] _loops = [];
    private int _socketsUnavailable;
    private int _listenerReader;

    public EpollEngine(SessionServerOptions options, SessionHandler handler, ILogger logger)
        : base(options, handler, logger)
    {
    }

    public override string Description => $"epoll, {Options.EpollMode}";

    public override IReadOnlyList<IoLoop> Loops => _loops;

    public LinuxListener Listener => _listener ?? throw new InvalidOperationException("The engine is not started.");

    public override void Start()
    {
        // Before 6.13 the kernel had no 4-tuple hash for connected UDP sockets: every datagram to the port walks them all.
        if (Environment.OSVersion.Version < new Version(6, 13) && Options.SocketBudget != 0)
        {
            Log.OldKernel(Logger, Environment.OSVersion.Version);
        }

        _listener = LinuxListener.Open(Options);
        _factory = new SessionSocketFactory(_listener, Options);
        LocalEndPoint = _listener.Local.ToIPEndPoint();
        try
        {
            _loops = new EpollLoop[Options.IoThreads];
            for (int i = 0; i < _loops.Length; i++)
            {
                _loops[i] = new EpollLoop(this, i);
            }
        }
        catch
        {
            foreach (EpollLoop? loop in _loops)
            {
                loop?.Dispose();
            }

            _listener.Dispose();
            throw;
        }

        foreach (EpollLoop loop in _loops)
        {
            loop.Start();
        }
    }

    /// <summary>
    /// One loop reads the listener at a time. Two loops reading it at once would each hold some of a peer's datagrams
    /// and could deliver them out of the order the kernel queued them in.
    /// </summary>
    public bool TryEnterListener() => Interlocked.CompareExchange(ref _listenerReader, 1, 0) == 0;

    public void ExitListener()
    {
        Interlocked.Exchange(ref _listenerReader, 0);
        foreach (EpollLoop loop in _loops)
        {
            loop.UnparkListener();
        }
    }

    public void EndAcceptWindow(Session session) => _factory!.EndWindow((SafeFdHandle)session.Socket!);

    protected override bool TryCreateSessionSocket(Session session)
    {
        SafeFdHandle? socket = _factory!.Create(session.Peer, session.Local, out bool boundToWildcard, out int errno);
        if (socket is null)
        {
            if (Interlocked.Exchange(ref _socketsUnavailable, 1) == 0)
            {
                Log.SessionSocketUnavailable(Logger, errno);
            }

            return false;
        }

        Volatile.Write(ref _socketsUnavailable, 0);
        session.Socket = socket;
        session.SocketBoundToWildcard = boundToWildcard;
        return true;
    }

    protected override SendStatus SendCore(Session session, ReadOnlySpan<byte> datagram)
    {
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
            sent = Listener.SendTo(datagram, (byte[])session.PeerNativeAddress!, session.Local, out errno);
        }

        return sent >= 0 ? SendStatus.Sent : errno switch
        {
            Errno.EAGAIN or Errno.ENOBUFS => SendStatus.WouldBlock,
            Errno.ECONNREFUSED => SendStatus.PeerUnreachable,
            // A closing session's wildcard-bound socket is disconnected for its final drain; a send racing that is
            // a send to a closed session, not a socket failure.
            Errno.EDESTADDRREQ when !session.IsOpen => SendStatus.Closed,
            Errno.EMSGSIZE => throw DatagramTooLarge(datagram.Length),
            _ => SendFailed(errno),
        };
    }

    public override bool SendFromListener(in PeerAddress peer, in PeerAddress local, ReadOnlySpan<byte> datagram)
    {
        Span<byte> sockaddr = stackalloc byte[PeerAddress.SockAddrV6Length];
        int length = peer.WriteLinuxSockAddr(sockaddr);
        return Listener.SendTo(datagram, sockaddr[..length], local, out _) >= 0;
    }

    protected override bool PollWritable(Session session, int timeoutMilliseconds)
    {
        SafeHandle socket = session.Socket ?? Listener.Socket;
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
        foreach (EpollLoop loop in _loops)
        {
            loop.Dispose();
        }

        _listener?.Dispose();
    }

    protected override void PrepareSendsThroughListener(Session session)
    {
        Span<byte> sockaddr = stackalloc byte[PeerAddress.SockAddrV6Length];
        session.PeerNativeAddress = sockaddr[..session.Peer.WriteLinuxSockAddr(sockaddr)].ToArray();
    }

    private SendStatus SendFailed(int errno)
    {
        Log.SocketError(Logger, "send", errno);
        return SendStatus.Failed;
    }
}
