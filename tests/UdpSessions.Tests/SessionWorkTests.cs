using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>Session.Post and Session.Schedule: work and timers on the session's I/O thread, in order, stopping when it closes.</summary>
public class SessionWorkTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Posted_work_runs_on_the_sessions_thread_in_posting_order(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new ThreadRecordingHandler();
        (SessionServer server, UdpClient client, Session session) = await OneSessionAsync(engine, handler, timeout.Token);
        await using SessionServer stopped = server;
        using UdpClient closed = client;

        // From another thread, 1,000 items; each records its index and the thread it ran on.
        const int Items = 1_000;
        var ran = new ConcurrentQueue<(int Index, int Thread)>();
        await Task.Run(() =>
        {
            for (int i = 0; i < Items; i++)
            {
                Assert.True(session.Post((s, index) => ran.Enqueue((index, Environment.CurrentManagedThreadId)), i));
            }
        }, timeout.Token);

        await Eventually.TrueAsync(() => ran.Count == Items, () => $"{ran.Count} of {Items} ran", cancellationToken: timeout.Token);
        Assert.Equal(Enumerable.Range(0, Items), ran.Select(r => r.Index));
        Assert.All(ran, r => Assert.Equal(handler.CallbackThread, r.Thread));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Work_and_timers_stop_when_the_session_closes(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new ThreadRecordingHandler();
        (SessionServer server, UdpClient client, Session session) = await OneSessionAsync(engine, handler, timeout.Token);
        await using SessionServer stopped = server;
        using UdpClient closed = client;

        int ticks = 0;
        using SessionTimer periodic = session.Schedule(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(5), s => Interlocked.Increment(ref ticks));
        int late = 0;
        SessionTimer oneShot = session.Schedule(TimeSpan.FromSeconds(1), _ => Interlocked.Increment(ref late));
        await Eventually.TrueAsync(() => Volatile.Read(ref ticks) >= 3, () => $"{ticks} ticks", cancellationToken: timeout.Token);

        session.Close();
        await handler.Closed.Task.WaitAsync(timeout.Token);
        int ticksAtClose = Volatile.Read(ref ticks);
        Assert.False(periodic.IsActive);
        Assert.False(oneShot.IsActive);
        Assert.False(session.Post(_ => Interlocked.Increment(ref late)));

        await Task.Delay(1_300, timeout.Token); // past the one-shot's due time and many periods
        Assert.Equal(ticksAtClose, Volatile.Read(ref ticks));
        Assert.Equal(0, Volatile.Read(ref late));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Timers_fire_in_due_order_on_the_sessions_thread_and_a_cancelled_one_never(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new ThreadRecordingHandler();
        (SessionServer server, UdpClient client, Session session) = await OneSessionAsync(engine, handler, timeout.Token);
        await using SessionServer stopped = server;
        using UdpClient closed = client;

        var fired = new ConcurrentQueue<(int Order, int Thread, long At)>();
        long start = Environment.TickCount64;
        SessionTimer Record(int order, int delayMs) =>
            session.Schedule(TimeSpan.FromMilliseconds(delayMs), _ => fired.Enqueue((order, Environment.CurrentManagedThreadId, Environment.TickCount64 - start)));

        // Filed out of order, from this (non-I/O) thread.
        Record(3, 300);
        Record(1, 100);
        SessionTimer cancelled = Record(99, 200);
        Record(2, 200);
        Assert.True(cancelled.Cancel());
        Assert.False(cancelled.Cancel());

        await Eventually.TrueAsync(() => fired.Count == 3, () => $"{fired.Count} fired", cancellationToken: timeout.Token);
        await Task.Delay(100, timeout.Token);
        Assert.Equal([1, 2, 3], fired.Select(f => f.Order));
        Assert.All(fired, f => Assert.Equal(handler.CallbackThread, f.Thread));
        Assert.All(fired, f => Assert.True(f.At >= f.Order * 100, $"timer {f.Order} fired early, at {f.At} ms"));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Work_that_throws_closes_only_its_session_with_Error(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new ThreadRecordingHandler();
        (SessionServer server, UdpClient client, Session session) = await OneSessionAsync(engine, handler, timeout.Token);
        await using SessionServer stopped = server;
        using UdpClient closed = client;

        session.Post(_ => throw new InvalidOperationException("posted work fails on purpose"));
        Assert.Equal(SessionCloseReason.Error, await handler.Closed.Task.WaitAsync(timeout.Token));
        Assert.Equal(1, server.GetStatistics().HandlerErrors);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Datagrams_posted_work_and_timers_never_overlap_and_work_follows_the_callback_that_posted_it(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Datagrams = 300, Outside = 300;
        var handler = new InterleavingHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using var client = new ClientGroup(server.LocalEndPoint, 1);
        client.Send(0, BitConverter.GetBytes(0));
        await Eventually.TrueAsync(() => handler.Session is not null, () => "no session", cancellationToken: timeout.Token);
        Session session = handler.Session!;

        // Datagrams (each posts work and files a timer from OnDatagram) and work posted from this thread, at once.
        Task outside = Task.Run(() =>
        {
            for (int j = 0; j < Outside; j++)
            {
                Assert.True(session.Post((s, index) => handler.Record(('x', index)), j));
            }
        }, timeout.Token);
        for (int i = 1; i < Datagrams; i++)
        {
            client.Send(0, BitConverter.GetBytes(i));
            if (i % 25 == 0)
            {
                // Bursts the session's receive buffer holds whatever its placement is doing (UDP may drop beyond it).
                int sent = i + 1;
                await Eventually.TrueAsync(() => handler.Events.Count(e => e.Event.Kind == 'd') == sent, () => $"{handler.Events.Count} events",
                    cancellationToken: timeout.Token);
            }
        }

        await outside;
        await Eventually.TrueAsync(() => handler.Events.Count == (Datagrams * 3) + Outside,
            () => $"{handler.Events.Count} events", cancellationToken: timeout.Token);
        Assert.Equal(0, handler.Overlaps);
        Assert.Single(handler.Events.Select(e => e.Thread).Distinct());

        (char Kind, int Index)[] events = [.. handler.Events.Select(e => e.Event)];
        int PositionOf(char kind, int index) => Array.IndexOf(events, (kind, index));
        foreach (char kind in "dwtx")
        {
            int[] order = [.. events.Where(e => e.Kind == kind).Select(e => e.Index)];
            Assert.Equal(Enumerable.Range(0, kind == 'x' ? Outside : Datagrams), order); // each kind in its own order
        }

        for (int i = 0; i < Datagrams; i++)
        {
            Assert.True(PositionOf('w', i) > PositionOf('d', i), $"work posted by datagram {i} ran before it");
            Assert.True(PositionOf('t', i) > PositionOf('d', i), $"the timer filed by datagram {i} fired before it");
        }

        // Closing: no more work or timers are taken; the closing hook runs on the same thread.
        session.Close();
        await Eventually.TrueAsync(() => handler.ClosingPostAccepted is not null, () => "not closed", cancellationToken: timeout.Token);
        Assert.False(handler.ClosingPostAccepted);
        Assert.Single(handler.Events.Select(e => e.Thread).Distinct());
    }

    /// <summary>
    /// Records every datagram ('d'), the work each one posts ('w') and the zero-delay timer it files ('t'), and work
    /// posted from outside ('x'), with the thread, and counts callbacks that overlapped.
    /// </summary>
    private sealed class InterleavingHandler : SessionHandler
    {
        private int _inside;
        private int _overlaps;

        public Session? Session { get; private set; }

        public ConcurrentQueue<((char Kind, int Index) Event, int Thread)> Events { get; } = new();

        public int Overlaps => Volatile.Read(ref _overlaps);

        public bool? ClosingPostAccepted { get; private set; }

        public void Record((char Kind, int Index) what)
        {
            if (Interlocked.Exchange(ref _inside, 1) != 0)
            {
                Interlocked.Increment(ref _overlaps);
            }

            Events.Enqueue((what, Environment.CurrentManagedThreadId));
            Thread.SpinWait(20);
            Volatile.Write(ref _inside, 0);
        }

        public override void OnSessionAccepted(Session session) => Session = session;

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            int index = BitConverter.ToInt32(datagram);
            Record(('d', index));
            session.Post((s, i) => Record(('w', i)), index);
            session.Schedule(TimeSpan.Zero, _ => Record(('t', index)));
        }

        public override void OnSessionClosing(Session session, SessionCloseReason reason)
        {
            Record(('c', 0));
            ClosingPostAccepted = session.Post(_ => Record(('z', 0)));
        }
    }

    /// <summary>A server, a client that sent it one datagram, and the session that datagram started.</summary>
    private static async Task<(SessionServer Server, UdpClient Client, Session Session)> OneSessionAsync(
        TestEngine engine, ThreadRecordingHandler handler, CancellationToken cancellationToken)
    {
        SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: cancellationToken);
        var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await client.SendAsync(new byte[] { 1 }, server.LocalEndPoint, cancellationToken);
        return (server, client, await handler.Accepted.Task.WaitAsync(cancellationToken));
    }

    /// <summary>Records the first session, the thread its callbacks ran on, and how it closed.</summary>
    private sealed class ThreadRecordingHandler : SessionHandler
    {
        public TaskCompletionSource<Session> Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<SessionCloseReason> Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int CallbackThread { get; private set; }

        public override void OnSessionAccepted(Session session)
        {
            CallbackThread = Environment.CurrentManagedThreadId;
            Accepted.TrySetResult(session);
        }

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
        }

        public override void OnSessionClosed(Session session, SessionCloseReason reason) => Closed.TrySetResult(reason);
    }
}
