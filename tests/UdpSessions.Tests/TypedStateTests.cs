using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// SessionHandler&lt;TState&gt;: one state object per session, the same one in every callback and through
/// Session.GetState; per-session counters; and the send limit (MaxSendDatagramSize).
/// </summary>
public class TypedStateTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Each_session_gets_its_own_state_in_every_callback_and_counts_its_traffic(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new PlayerHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, 5) { Diagnostics = () => server.GetStatistics().ToString() };
        int sent = clients.EchoRounds(0, 4, batchSize: 5, timeout.Token);
        Assert.Equal(20, sent);

        Session[] sessions = [.. server.Sessions];
        Assert.Equal(5, sessions.Length);
        foreach (Session session in sessions)
        {
            Player player = session.GetState<Player>();
            Assert.Same(session, player.Session);
            Assert.Equal(4, player.Datagrams);

            // Posted work reaches the same state, on the session's thread.
            var seen = new TaskCompletionSource<Player>(TaskCreationOptions.RunContinuationsAsynchronously);
            Assert.True(session.Post(s => seen.SetResult(s.GetState<Player>())));
            Assert.Same(player, await seen.Task.WaitAsync(timeout.Token));

            // The session's own counters: what it received and what was echoed.
            int client = Enumerable.Range(0, 5).Single(i => clients.LocalEndPoint(i).Equals(Endpoints.Normalize(session.RemoteEndPoint)));
            long bytes = Enumerable.Range(0, 4).Sum(k => ClientGroup.Payload(clients.ClientId(client), k).Length);
            SessionStatistics stats = session.GetStatistics();
            Assert.Equal(4, stats.DatagramsReceived);
            Assert.Equal(bytes, stats.BytesReceived);
            await Eventually.TrueAsync(() => session.GetStatistics().DatagramsSent == 4, () => session.GetStatistics().ToString(), cancellationToken: timeout.Token);
            Assert.Equal(bytes, session.GetStatistics().BytesSent);
            Assert.Equal(0, stats.SendsRefused);
            Assert.InRange(stats.SinceLastReceived, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        }

        Assert.Throws<InvalidOperationException>(() => sessions[0].GetState<string>());
        Assert.Equal(5, sessions.Select(s => s.GetState<Player>()).Distinct().Count());

        await server.StopAsync(timeout.Token);
        Assert.Equal(5, handler.ClosedStates.Count);
        Assert.All(handler.ClosedStates, p => Assert.Equal(SessionCloseReason.ServerShutdown, p.ClosedWith));
        Assert.All(handler.ClosedStates, p => Assert.True(p.SawClosing));
    }

    [Fact(Timeout = 60_000)]
    public async Task The_typed_callback_path_allocates_nothing_per_datagram()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the epoll engine needs Linux");
        const int Warmup = 2_000;
        const int Measured = 20_000;
        var handler = new TypedAllocationProbe(Warmup, Warmup + Measured);
        await using SessionServer server = await SessionServer.StartAsync(
            new SessionServerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), IoThreads = 1 }, handler,
            cancellationToken: TestContext.Current.CancellationToken);

        AllocationWindow.EchoOverUdp(server, Warmup + Measured + 1);

        Assert.True(handler.Done, "the probe did not see every datagram");
        Assert.Equal(Warmup + Measured + 1, handler.LastState!.Datagrams);
        Assert.InRange(handler.AllocatedBytes, 0, Measured / 100); // as AllocationTests: nothing per datagram
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_send_larger_than_the_limit_is_refused_and_counted_unless_a_larger_send_limit_is_set(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        options.MaxDatagramSize = 1_200;
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var client = new ClientGroup(server.LocalEndPoint, 1) { Diagnostics = () => server.GetStatistics().ToString() };
        client.EchoRounds(0, 1, batchSize: 1, timeout.Token);
        Session session = Assert.Single(handler.Sessions.Values).Session;

        Assert.True(session.Send(new byte[1_200]));
        client.ExpectReply(0, new byte[1_200]);
        Assert.False(session.Send(new byte[5_000]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await session.SendAsync(new byte[1_201], timeout.Token));
        ServerStatistics stats = server.GetStatistics();
        Assert.Equal(2, stats.SendsDroppedOversized);
        Assert.Equal(2, session.GetStatistics().SendsRefused);
        Assert.True(session.IsOpen, "a refused send must not close the session");
        client.AssertNothingPending(TimeSpan.FromMilliseconds(20));

        using System.Diagnostics.Metrics.Meter meter = UdpSessionsMetrics.Publish(server);
        using var dropped = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(meter, "udpsessions.sends.dropped");
        dropped.RecordObservableInstruments();
        Assert.Equal(2, dropped.GetMeasurementSnapshot().Single(m => (string?)m.Tags["udpsessions.drop.cause"] == "oversized").Value);

        // A separate send limit lets replies be larger than requests.
        options.MaxSendDatagramSize = 8_000;
        await using SessionServer larger = await SessionServer.StartAsync(options, new RecordingHandler(), cancellationToken: timeout.Token);
        using var other = new ClientGroup(larger.LocalEndPoint, 1);
        other.EchoRounds(0, 1, batchSize: 1, timeout.Token);
        Session big = Assert.Single(larger.Sessions);
        Assert.True(big.Send(new byte[5_000]));
        other.ExpectReply(0, new byte[5_000]);
        Assert.False(big.Send(new byte[8_001]));
        Assert.Equal(1, larger.GetStatistics().SendsDroppedOversized);
    }

    /// <summary>A player's state: its session, datagrams seen, how it ended.</summary>
    private sealed class Player(Session session)
    {
        public Session Session { get; } = session;

        public int Datagrams { get; set; }

        public bool SawClosing { get; set; }

        public SessionCloseReason? ClosedWith { get; set; }
    }

    private sealed class PlayerHandler : SessionHandler<Player>
    {
        public System.Collections.Concurrent.ConcurrentQueue<Player> ClosedStates { get; } = new();

        protected override Player CreateState(Session session) => new(session);

        public override void OnSessionAccepted(Session session, Player state) => Assert.Equal(0, state.Datagrams);

        public override void OnDatagram(Session session, Player state, ReadOnlySpan<byte> datagram)
        {
            Assert.Same(session, state.Session);
            state.Datagrams++;
            session.Send(datagram);
        }

        public override void OnSessionClosing(Session session, Player state, SessionCloseReason reason) => state.SawClosing = true;

        public override void OnSessionClosed(Session session, Player state, SessionCloseReason reason)
        {
            state.ClosedWith = reason;
            ClosedStates.Enqueue(state);
        }
    }

    /// <summary>An echo through the typed path that measures what its I/O thread allocates between two datagram counts.</summary>
    private sealed class TypedAllocationProbe(int start, int end) : SessionHandler<TypedAllocationProbe.Counter>
    {
        private readonly AllocationWindow _window = new(start, end);

        public long AllocatedBytes => _window.AllocatedBytes;

        public bool Done => _window.Done;

        public Counter? LastState { get; private set; }

        protected override Counter CreateState(Session session) => LastState = new Counter();

        public override void OnDatagram(Session session, Counter state, ReadOnlySpan<byte> datagram)
        {
            _window.Count();
            state.Datagrams++;
            session.Send(datagram);
        }

        public sealed class Counter
        {
            public int Datagrams { get; set; }
        }
    }
}
