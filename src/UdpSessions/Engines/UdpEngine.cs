using System.Net;
using Microsoft.Extensions.Logging;
using UdpSessions.Internal;

namespace UdpSessions.Engines;

/// <summary>What an engine does beyond the shared session logic of <see cref="IoLoop"/>: sockets, sends, start and stop.</summary>
internal abstract partial class UdpEngine
{
    private int _ownSockets;
    private volatile bool _stopping;

    protected UdpEngine(SessionServerOptions options, SessionHandler handler, ILogger logger)
    {
        Options = options;
        Handler = handler;
        Logger = logger;
        Registry = new SessionRegistry(options.MaxSessions);
        Gate = new AcceptGate(this);
    }

    public SessionServerOptions Options { get; }

    public SessionHandler Handler { get; }

    public ILogger Logger { get; }

    public SessionRegistry Registry { get; }

    public SendCounters SendCounters { get; } = new();

    /// <summary>The checks a new peer's first datagram passes before a session exists (limits, accept filter).</summary>
    public AcceptGate Gate { get; }

    public bool Stopping => _stopping;

    /// <summary>True once the server drains: new peers are handed to a successor or dropped (EpollEngine.Drain.cs).</summary>
    public bool Draining { get; protected set; }

    /// <summary>The bound endpoint (port 0 resolved), known once started and kept after stop.</summary>
    public IPEndPoint LocalEndPoint { get; protected set; } = new(IPAddress.None, 0);

    /// <summary>Engine and mode, for logs and the CLI.</summary>
    public abstract string Description { get; }

    public abstract IReadOnlyList<IoLoop> Loops { get; }

    /// <summary>Binds the listener and starts the I/O threads.</summary>
    public abstract void Start();

    /// <summary>Stops the I/O threads, closes every session (ServerShutdown) and releases every socket.</summary>
    public async Task StopAsync()
    {
        _stopping = true;
        foreach (IoLoop loop in Loops)
        {
            loop.Wake();
        }

        await Task.WhenAll(Loops.Select(loop => loop.Stopped)).ConfigureAwait(false);
        foreach (IoLoop loop in Loops)
        {
            loop.CloseAllAfterStop();
        }

        ReleaseListener();
        Log.Stopped(Logger, LocalEndPoint);
    }

    /// <summary>
    /// True when sessions are told apart by local address too (a wildcard listener that learns each datagram's
    /// destination); see <see cref="SessionKey"/>.
    /// </summary>
    protected bool KeyIncludesLocal { get; set; }

    public SessionKey KeyOf(in PeerAddress peer, in PeerAddress local) => new(peer, KeyIncludesLocal ? local : default);

    public ServerStatistics GetStatistics() => new(Loops.Select(loop => loop.Counters), SendCounters, Registry.ActiveCount, CloseReasons);

    /// <summary>Sessions closed by the application, by the reason it gave (<see cref="Session.Close(string)"/>).</summary>
    public ApplicationCloseReasons CloseReasons { get; } = new();

    /// <summary>
    /// Gives a new session a connected socket of its own unless the socket budget is spent or the system has no fd
    /// to spare; false means the session is served through the listener.
    /// </summary>
    /// <summary>False for engines that serve every session through one socket (their sessions are not "without" one).</summary>
    public virtual bool OffersSessionSockets => true;

    public virtual bool TryAttachSocket(Session session)
    {
        if (TryReserveOwnSocket(Options.SocketBudget ?? int.MaxValue))
        {
            if (TryCreateSessionSocket(session))
            {
                return true;
            }

            ReturnOwnSocket();
        }

        PrepareSendsThroughListener(session);
        return false;
    }

    /// <summary>Counts one more session socket unless <paramref name="budget"/> are open already.</summary>
    protected bool TryReserveOwnSocket(int budget)
    {
        if (Interlocked.Increment(ref _ownSockets) <= budget)
        {
            return true;
        }

        Interlocked.Decrement(ref _ownSockets);
        return false;
    }

    /// <summary>Gives back a reservation whose socket could not be made.</summary>
    protected void ReturnOwnSocket() => Interlocked.Decrement(ref _ownSockets);

    /// <summary>Closes a session's own socket (after the loop unregistered it).</summary>
    public void ReleaseSocket(Session session)
    {
        session.Socket!.Dispose();
        Interlocked.Decrement(ref _ownSockets);
    }

    public bool Send(Session session, ReadOnlySpan<byte> datagram)
    {
        SendStatus status = TrySend(session, datagram);
        if (status is SendStatus.Sent or SendStatus.Queued)
        {
            return true;
        }

        CountRefused(session, status);
        return false;
    }

    /// <summary>Counts a send that did not go out, by cause, for the server and the session.</summary>
    public void CountRefused(Session session, SendStatus status)
    {
        session.CountSendRefused();
        switch (status)
        {
            case SendStatus.WouldBlock:
                Interlocked.Increment(ref SendCounters.DroppedSendBufferFull);
                break;
            case SendStatus.Failed:
                Interlocked.Increment(ref SendCounters.Failed);
                break;
            case SendStatus.Oversized:
                Interlocked.Increment(ref SendCounters.DroppedOversized);
                break;
            default:
                Interlocked.Increment(ref SendCounters.DroppedSessionClosed);
                break;
        }
    }

    /// <summary>
    /// One send attempt of application data (through the session's layer, if any); the caller decides what a refusal
    /// means. <paramref name="mayQueue"/>: on an I/O thread the engine may queue the datagram in the thread's send
    /// batch (<see cref="SendStatus.Queued"/>); a refusal at the flush is then counted, not returned.
    /// </summary>
    public SendStatus TrySend(Session session, ReadOnlySpan<byte> datagram, bool mayQueue = true)
    {
        if (datagram.Length > MaxSendSize)
        {
            // Refused and counted, unless the transport could never carry it (a programming error: thrown).
            return SendLengthProblem(datagram.Length) is { } problem ? throw new ArgumentException(problem, nameof(datagram)) : SendStatus.Oversized;
        }

        return session.Layer is { } layer ? layer.TrySend(session, datagram) : TrySendRaw(session, datagram, mayQueue);
    }

    /// <summary>The largest application datagram a send may carry (<see cref="SessionServerOptions.MaxSendDatagramSize"/>).</summary>
    protected virtual int MaxSendSize => Options.MaxSendDatagramSize ?? Options.MaxDatagramSize;

    /// <summary>One send attempt of what goes on the wire, counted when it succeeds (or when a queued datagram is flushed).</summary>
    public SendStatus TrySendRaw(Session session, ReadOnlySpan<byte> datagram, bool mayQueue = true)
    {
        if (SendLengthProblem(datagram.Length) is { } problem)
        {
            throw new ArgumentException(problem, nameof(datagram));
        }

        if (!session.AcceptsSends)
        {
            return SendStatus.Closed;
        }

        SendStatus status;
        try
        {
            status = SendCore(session, datagram, mayQueue);
        }
        catch (ObjectDisposedException)
        {
            return SendStatus.Closed; // the session's socket was closed by its loop while we were sending
        }

        if (status == SendStatus.Sent)
        {
            // Replies sent from a callback are counted by the loop alone, without cross-core interlocked traffic.
            IoLoop home = session.Home;
            bool onHome = home.IsCurrentThread;
            if (onHome)
            {
                home.Counters.DatagramsSent++;
                home.Counters.BytesSent += datagram.Length;
            }
            else
            {
                Interlocked.Increment(ref SendCounters.DatagramsSent);
                Interlocked.Add(ref SendCounters.BytesSent, datagram.Length);
            }

            session.CountSent(datagram.Length, onHome);
        }
        else if (status == SendStatus.PeerUnreachable)
        {
            session.RequestClose(SessionCloseReason.PeerUnreachable);
            return SendStatus.Closed;
        }

        return status;
    }

    /// <summary>
    /// Sends one datagram to each of <paramref name="sessions"/> (all of this engine) but <paramref name="except"/>;
    /// returns how many it was sent or queued to, refusals counted by cause. Sessions served through a listener go
    /// first and those with a socket of their own after them, so that on an I/O thread of the epoll engine the former
    /// make one run of its send batch (one sendmmsg per batch).
    /// </summary>
    public virtual int SendToMany(ReadOnlySpan<Session> sessions, ReadOnlySpan<byte> datagram, Session? except)
    {
        int handed = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            bool ownSockets = pass == 1;
            foreach (Session session in sessions)
            {
                if (session != except && (session.Socket is not null) == ownSockets && Send(session, datagram))
                {
                    handed++;
                }
            }
        }

        return handed;
    }

    /// <summary>Waits (off the I/O threads) until the session's socket may take a datagram again, or the token fires.</summary>
    public virtual async ValueTask WaitUntilWritableAsync(Session session, CancellationToken cancellationToken)
    {
        while (session.IsOpen && !await Task.Run(() => PollWritable(session, 50), cancellationToken).ConfigureAwait(false))
        {
        }
    }

    /// <summary>Why a message of <paramref name="length"/> bytes cannot be sent on this transport, or null when it can.</summary>
    protected virtual string? SendLengthProblem(int length) => length > SessionServerOptions.MaxUdpPayload
        ? $"A UDP datagram holds at most {SessionServerOptions.MaxUdpPayload} bytes; this one has {length}."
        : null;

    /// <summary>
    /// Sends a datagram to a peer that has no session (an accept filter's challenge) from the listening socket. False
    /// when it could not be sent (or the engine cannot send without a session). The epoll engine never blocks here;
    /// the portable engine's socket is blocking, so there a full send buffer makes the challenge wait.
    /// </summary>
    public virtual bool SendFromListener(in PeerAddress peer, in PeerAddress local, ReadOnlySpan<byte> datagram) => false;

    protected abstract bool TryCreateSessionSocket(Session session);

    /// <summary>Readies a session without its own socket for replies sent through the listener.</summary>
    protected abstract void PrepareSendsThroughListener(Session session);

    /// <summary>Sends (or, when <paramref name="mayQueue"/> and on an I/O thread, may queue) one datagram.</summary>
    protected abstract SendStatus SendCore(Session session, ReadOnlySpan<byte> datagram, bool mayQueue);

    /// <summary>Blocks up to <paramref name="timeoutMilliseconds"/> until the session's socket is writable.</summary>
    protected abstract bool PollWritable(Session session, int timeoutMilliseconds);

    protected abstract void ReleaseListener();

    protected static ArgumentException DatagramTooLarge(int length) =>
        new($"The datagram ({length} bytes) is larger than this path can send (EMSGSIZE).");
}

internal enum SendStatus
{
    Sent,

    /// <summary>In the I/O thread's send batch; counted when the batch is flushed.</summary>
    Queued,
    WouldBlock,
    Closed,
    PeerUnreachable,
    Failed,

    /// <summary>Larger than <see cref="SessionServerOptions.MaxSendDatagramSize"/>: refused before it reached the socket.</summary>
    Oversized,
}
