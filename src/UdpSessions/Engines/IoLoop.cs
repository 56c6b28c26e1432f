using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using UdpSessions.Internal;

namespace UdpSessions.Engines;

/// <summary>
/// One I/O thread and the sessions it owns. Everything that touches a session's receive side, its timers and its
/// teardown runs here, which is why none of it needs a lock. Other threads reach a session's loop through the command
/// queue: a close request, posted work, or a datagram that arrived on another thread's socket and is copied over.
/// </summary>
internal abstract partial class IoLoop
{
    /// <summary>
    /// Bytes of datagrams that other threads may have handed to this loop and it has not delivered yet. Beyond it
    /// a hand-over is refused and counted (<see cref="DropReason.RedirectQueueFull"/>) instead of growing memory
    /// without bound behind a slow handler: the kernel's receive buffers are the back-pressure, as for everything else.
    /// </summary>
    internal const int RedirectQueueLimitBytes = 8 << 20;

    private readonly ConcurrentQueue<LoopCommand> _commands = new();
    private readonly LoopTimerQueue _timers = new();
    private readonly Action<Session> _expire;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _redirectedBytes;

    protected IoLoop(UdpEngine engine, int index)
    {
        Engine = engine;
        Index = index;
        Now = Environment.TickCount64;
        Wheel = engine.Options.IdleTimeout == Timeout.InfiniteTimeSpan ? null : new TimerWheel(engine.Options.IdleTimeout, Now);
        _expire = session => TearDown(session, SessionCloseReason.IdleTimeout);
        _thread = new Thread(Run) { IsBackground = true, Name = $"udps-io-{index}" };
    }

    public UdpEngine Engine { get; }

    public int Index { get; }

    public LoopCounters Counters { get; } = new();

    /// <summary>Milliseconds (Environment.TickCount64) as of the loop's last wake-up; cheaper than a clock read per datagram.</summary>
    public long Now { get; protected set; }

    /// <summary>Completes when the loop's thread has left its I/O loop.</summary>
    public Task Stopped => _stopped.Task;

    protected TimerWheel? Wheel { get; }

    protected SessionHandler Handler => Engine.Handler;

    protected int MaxDatagramSize => Engine.Options.MaxDatagramSize;

    /// <summary>True on this loop's own thread, the only writer of <see cref="Counters"/>.</summary>
    public bool IsCurrentThread => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    public void Start() => _thread.Start();

    /// <summary>Runs <paramref name="work"/> on this loop, after the commands queued before it.</summary>
    public void Post(Session session, ILoopWork work)
    {
        _commands.Enqueue(new LoopCommand(session, null, 0, work));
        Wake();
    }

    /// <summary>Files an application timer; from another thread it is handed over through the command queue.</summary>
    public void AddTimer(SessionTimer timer)
    {
        if (IsCurrentThread)
        {
            _timers.Add(timer);
        }
        else
        {
            Post(timer.Session, new TimerFiling(timer));
        }
    }

    /// <summary>
    /// Runs application code (posted work, a timer) for <paramref name="session"/> on this loop, isolated like a
    /// handler callback: an exception closes only that session and is logged and counted.
    /// </summary>
    public void RunApplicationCode<TState>(Session session, string source, Action<Session, TState> code, TState state)
    {
        try
        {
            code(session, state);
        }
        catch (Exception exception)
        {
            HandlerFailed(session, source, exception);
        }
    }

    public void PostClose(Session session)
    {
        _commands.Enqueue(new LoopCommand(session, null, 0));
        Wake();
    }

    /// <summary>
    /// Hands a datagram read on another thread to this loop, which delivers it in the order of its queue. False, and
    /// counted on <paramref name="reader"/>, when this loop already holds <see cref="RedirectQueueLimitBytes"/>.
    /// </summary>
    public bool PostDatagram(IoLoop reader, Session session, ReadOnlySpan<byte> datagram)
    {
        if (Interlocked.Add(ref _redirectedBytes, datagram.Length + 1) > RedirectQueueLimitBytes)
        {
            Interlocked.Add(ref _redirectedBytes, -(datagram.Length + 1));
            reader.Counters.Dropped[(int)DropReason.RedirectQueueFull]++;
            return false;
        }

        byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, datagram.Length));
        datagram.CopyTo(copy);
        _commands.Enqueue(new LoopCommand(session, copy, datagram.Length));
        Wake();
        return true;
    }

    /// <summary>Called on the stopping thread after this loop's thread has ended: drops what is queued, closes what it owned.</summary>
    public void CloseAllAfterStop()
    {
        RunCommands();
        foreach (Session session in Engine.Registry.Snapshot())
        {
            if (session.Home == this)
            {
                TearDown(session, SessionCloseReason.ServerShutdown);
            }
        }

        ReleaseHeldSockets();
        RunCommands();
    }

    /// <summary>Interrupts the loop's wait so that it sees new commands or the stop flag.</summary>
    public abstract void Wake();

    /// <summary>The loop proper: wait, read, <see cref="RunCommands"/>, <see cref="AdvanceTimers"/>, until the engine stops.</summary>
    protected abstract void RunIo();

    /// <summary>Removes the session's socket from the loop's wait set (before the socket is closed).</summary>
    protected abstract void UnregisterSocket(Session session);

    /// <summary>Adds a new session's socket to the loop's wait set.</summary>
    protected abstract void RegisterSocket(Session session);

    protected void RunCommands()
    {
        while (_commands.TryDequeue(out LoopCommand command))
        {
            if (command.Work is not null)
            {
                command.Work.Execute(this, command.Session);
                continue;
            }

            if (command.Datagram is null)
            {
                TearDown(command.Session, command.Session.PendingCloseReason);
                continue;
            }

            Interlocked.Add(ref _redirectedBytes, -(command.Length + 1));
            DeliverRedirected(command.Session, command.Datagram.AsSpan(0, command.Length));
            ArrayPool<byte>.Shared.Return(command.Datagram);
        }
    }

    /// <summary>A datagram another thread read for a session of this loop (see <see cref="PostDatagram"/>).</summary>
    protected virtual void DeliverRedirected(Session session, ReadOnlySpan<byte> datagram) => Deliver(session, datagram);

    /// <summary>True when commands are queued (for loops that must not block while some are waiting).</summary>
    protected bool HasPendingCommands => !_commands.IsEmpty;

    /// <summary>Expires idle sessions and runs the application's timers that are due.</summary>
    protected void AdvanceTimers()
    {
        Wheel?.Advance(Now, _expire);

        // Only timers due now and filed before this pass: a callback that files a timer due at once runs it next pass.
        for (int due = _timers.Count; due > 0 && _timers.TryTakeDue(Now, out SessionTimer timer); due--)
        {
            if (timer.Fire(this))
            {
                long period = timer.PeriodMilliseconds;
                long late = Now - timer.DueMilliseconds;
                timer.DueMilliseconds += period * ((late / period) + 1); // skip missed periods, keep the phase
                _timers.Add(timer);
            }
        }
    }

    /// <summary>How long the loop may wait: until the idle wheel's next tick or the next application timer, -1 for ever.</summary>
    protected int WaitTimeoutMilliseconds()
    {
        int wheel = Wheel?.MillisecondsUntilNextTick(Now) ?? -1;
        int timers = _timers.MillisecondsUntilNext(Now);
        return wheel < 0 ? timers : timers < 0 ? wheel : Math.Min(wheel, timers);
    }

    /// <summary>Hands a datagram to the application, isolating it from the application's exceptions.</summary>
    protected void Deliver(Session session, ReadOnlySpan<byte> datagram, bool rerouteIfClosed = true)
    {
        if (!session.IsOpen)
        {
            DeliverAfterClose(session, datagram, rerouteIfClosed);
            return;
        }

        session.LastActivity = Now;
        session.CountReceived(datagram.Length);

        bool accepted;
        try
        {
            accepted = Handler.Deliver(session, datagram);
        }
        catch (Exception exception)
        {
            Counters.DatagramsDelivered++;
            HandlerFailed(session, nameof(SessionHandler.OnDatagram), exception);
            return;
        }

        CountDelivery(accepted);
    }

    /// <summary>A handler that queues (a pipeline, DTLS) refuses a datagram when its queue is full: a counted drop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CountDelivery(bool accepted)
    {
        if (accepted)
        {
            Counters.DatagramsDelivered++;
        }
        else
        {
            Counters.Dropped[(int)Handler.TakeRefusalReason()]++;
        }
    }

    /// <summary>
    /// A datagram for a session that is closing or closed: its peer is still sending, so the datagram is treated as
    /// one that arrived after the close and starts a new session, as it would a moment later. Dropped (and counted)
    /// only when the server is stopping or the datagram already failed to start a session.
    /// </summary>
    private void DeliverAfterClose(Session session, ReadOnlySpan<byte> datagram, bool reroute)
    {
        if (!reroute || Engine.Stopping)
        {
            Counters.Dropped[(int)DropReason.SessionClosed]++;
            return;
        }

        // Finish the close now so that the peer leaves the map. This datagram was read before what the session's
        // socket still holds, so it goes first, then those, then (after them) whatever the peer sends from now on.
        List<QueuedDatagram>? leftovers = CloseSession(session, session.PendingCloseReason);
        RouteByAddress(session.Peer, session.Local, datagram, RouteOrigin.Leftover);
        RouteLeftovers(session, leftovers);
    }

    /// <summary>
    /// Routes a datagram that came in on a shared socket (a listener, or a stray on a new session socket) or was left
    /// on a closed session's socket: to its session if the peer has one, otherwise it accepts the peer as a new
    /// session. A session of another loop gets it through that loop's queue.
    /// </summary>
    protected void RouteByAddress(in PeerAddress peer, in PeerAddress local, ReadOnlySpan<byte> datagram, RouteOrigin origin)
    {
        SessionKey key = Engine.KeyOf(peer, local);
        if (origin != RouteOrigin.Leftover && TryHoldBack(key, datagram))
        {
            return;
        }

        if (Engine.Registry.TryFind(key, out Session? session))
        {
            if (origin == RouteOrigin.Listener)
            {
                if (session.HasOwnSocket)
                {
                    Counters.ListenerLateDatagrams++;
                }
                else if (session.Home == this)
                {
                    OnListenerDatagram(session);
                }
            }

            DeliverHereOrAtHome(session, datagram);
            return;
        }

        if (Engine.MigrationRouter is not null && TryRouteToMovedPeer(peer, datagram))
        {
            return; // a known session's peer at a new address (IoLoop.Layers.cs)
        }

        if (Engine.Draining && DivertNewPeer(peer, local, datagram))
        {
            return; // a draining server takes no new peer (EpollLoop.Drain.cs)
        }

        Accept(peer, local, datagram);
    }

    /// <summary>
    /// A new peer's datagram while the server drains: handed to the successor or dropped and counted; true when it
    /// was taken care of (false: accepted as usual).
    /// </summary>
    protected virtual bool DivertNewPeer(in PeerAddress peer, in PeerAddress local, ReadOnlySpan<byte> datagram) => false;

    /// <summary>A datagram of a session of this loop without a socket of its own was read from the listener (about to be delivered).</summary>
    protected virtual void OnListenerDatagram(Session session)
    {
    }

    /// <summary>
    /// Keeps a datagram back (copied) while an older one of the same session may still be in flight elsewhere (a
    /// retired socket's last read); false when nothing is held for <paramref name="key"/>.
    /// </summary>
    protected virtual bool TryHoldBack(in SessionKey key, ReadOnlySpan<byte> datagram) => false;

    private void DeliverHereOrAtHome(Session session, ReadOnlySpan<byte> datagram)
    {
        if (session.Home == this)
        {
            Deliver(session, datagram);
        }
        else
        {
            Counters.DatagramsRedirected++;
            session.Home.PostDatagram(this, session, datagram);
        }
    }

    /// <summary>
    /// Accepts a new peer. The session enters the address map before anything else, so that its next datagrams,
    /// wherever they are read, find it.
    /// </summary>
    private void Accept(in PeerAddress peer, in PeerAddress local, ReadOnlySpan<byte> firstDatagram)
    {
        if (!Engine.Gate.Admit(this, peer, local, firstDatagram))
        {
            return; // counted by the gate; nothing was created for this peer
        }

        var session = new Session(this, peer, local);
        switch (Engine.Registry.TryAdd(session, out Session? existing))
        {
            case SessionRegistry.AddResult.LimitReached:
                Counters.Dropped[(int)DropReason.SessionLimit]++;
                return;
            case SessionRegistry.AddResult.Exists:
                DeliverHereOrAtHome(existing!, firstDatagram);
                return;
        }

        Counters.SessionsAccepted++;
        PlaceNewSession(session);
        Wheel?.Schedule(session);
        try
        {
            Handler.OnSessionAccepted(session);
        }
        catch (Exception exception)
        {
            HandlerFailed(session, nameof(SessionHandler.OnSessionAccepted), exception);
        }

        ListIfOpen(session);

        Deliver(session, firstDatagram, rerouteIfClosed: false);
        if (session.Socket is not null && !session.SocketRegistered)
        {
            RegisterSocket(session);
            session.SocketRegistered = true;
        }
    }

    /// <summary>
    /// Decides where a new session is served before its first callback: by default it gets a socket of its own when
    /// the engine can give one (registered after its first datagram), else it is served through the listener.
    /// </summary>
    protected virtual void PlaceNewSession(Session session)
    {
        if (!Engine.TryAttachSocket(session) && Engine.OffersSessionSockets)
        {
            Counters.SessionsWithoutSocket++;
        }
    }

    /// <summary>Ends a session on its home loop; what was still queued on its socket is routed as newer traffic.</summary>
    protected void TearDown(Session session, SessionCloseReason reason) => RouteLeftovers(session, CloseSession(session, reason));

    /// <summary>Map, timer, the closing hook, socket, counters, then the application's callback. Returns what its socket still held.</summary>
    protected List<QueuedDatagram>? CloseSession(Session session, SessionCloseReason reason)
    {
        if (!session.MarkClosed(reason))
        {
            return null;
        }

        reason = session.PendingCloseReason;
        Wheel?.Remove(session);
        Engine.Registry.Remove(session);
        SayGoodbye(session, reason); // while the socket is still there (IoLoop.Closing.cs)
        session.Connection?.Release(Engine.SendCounters);
        List<QueuedDatagram>? leftovers = null;
        if (session.Socket is not null)
        {
            if (session.SocketRegistered)
            {
                UnregisterSocket(session);
                session.SocketRegistered = false;
            }

            leftovers = DrainSocket(session); // last, so that as little as possible can arrive before the close
            ReleaseSocket(session);
        }

        DetachAttachments(session);
        Counters.Closed[(int)reason]++;
        try
        {
            Handler.OnSessionClosed(session, reason);
        }
        catch (Exception exception)
        {
            Counters.HandlerErrors++;
            Log.HandlerFailed(Engine.Logger, nameof(SessionHandler.OnSessionClosed), session.Id, session.RemoteEndPoint, exception);
        }

        return leftovers;
    }

    /// <summary>
    /// Reads (and counts as received) what is still queued on a session's socket before it is closed, which would
    /// otherwise vanish uncounted with the socket. Null when nothing was queued.
    /// </summary>
    protected virtual List<QueuedDatagram>? DrainSocket(Session session) => null;

    /// <summary>Closes a closed session's socket once it has been drained (an engine may hold it back a while first).</summary>
    protected virtual void ReleaseSocket(Session session) => Engine.ReleaseSocket(session);

    /// <summary>Detaches (and closes) the session's extra sockets, if the engine has any (epoll: EpollLoop.Attachments.cs).</summary>
    protected virtual void DetachAttachments(Session session)
    {
    }

    /// <summary>Closes whatever sockets the engine still holds back, after the loop stopped.</summary>
    protected virtual void ReleaseHeldSockets()
    {
    }

    /// <summary>Datagrams that were queued on a closed session's socket: as if they had arrived just after the close.</summary>
    protected void RouteLeftovers(Session session, List<QueuedDatagram>? leftovers)
    {
        if (leftovers is null)
        {
            return;
        }

        foreach (QueuedDatagram leftover in leftovers)
        {
            if (Engine.Stopping)
            {
                Counters.Dropped[(int)DropReason.SessionClosed]++;
            }
            else
            {
                RouteByAddress(leftover.Source, session.Local, leftover.Buffer.AsSpan(0, leftover.Length), RouteOrigin.Leftover);
            }

            ArrayPool<byte>.Shared.Return(leftover.Buffer);
        }
    }

    protected void HandlerFailed(Session session, string callback, Exception exception)
    {
        Counters.HandlerErrors++;
        Log.HandlerFailed(Engine.Logger, callback, session.Id, session.RemoteEndPoint, exception);
        session.RequestClose(SessionCloseReason.Error);
    }

    protected void SocketFailed(string operation, int errno)
    {
        Counters.SocketErrors++;
        Log.SocketError(Engine.Logger, operation, errno);
    }

    private void Run()
    {
        try
        {
            RunIo();
        }
        catch (Exception exception)
        {
            Log.LoopFailed(Engine.Logger, Index, exception);
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    /// <summary>Where a datagram routed by address was read.</summary>
    protected enum RouteOrigin
    {
        /// <summary>A listening socket.</summary>
        Listener,

        /// <summary>A new session socket's first read, which held another peer's datagram.</summary>
        Stray,

        /// <summary>A closed session's socket, or read just before its close: older than anything its peer sends after.</summary>
        Leftover,
    }

    internal readonly record struct QueuedDatagram(byte[] Buffer, int Length, PeerAddress Source);

    /// <summary>A timer filed from another thread than its session's loop.</summary>
    private sealed class TimerFiling(SessionTimer timer) : ILoopWork
    {
        public void Execute(IoLoop loop, Session session) => loop._timers.Add(timer);
    }

    private readonly record struct LoopCommand(Session Session, byte[]? Datagram, int Length, ILoopWork? Work = null);
}
