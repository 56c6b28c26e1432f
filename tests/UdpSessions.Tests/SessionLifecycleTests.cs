using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>Closing a session, the same peer coming back, and the session limit.</summary>
public class SessionLifecycleTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task The_same_peer_after_Close_gets_a_new_session_with_a_new_id(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, 2) { Diagnostics = () => server.GetStatistics().ToString() };
        clients.EchoRounds(0, 2, 2, timeout.Token);

        var seen = new List<long>();
        for (int cycle = 1; cycle <= 3; cycle++)
        {
            SessionRecord current = handler.Sessions.Values.Single(r => r.Session.IsOpen && r.Session.RemoteEndPoint.Equals(clients.LocalEndPoint(0)));
            seen.Add(current.Session.Id);
            current.Session.Close();
            current.Session.Close(); // idempotent
            Assert.False(current.Session.IsOpen);
            Assert.Equal(SessionCloseReason.ClosedByApplication, await current.ClosedTask.WaitAsync(TimeSpan.FromSeconds(5), timeout.Token));
            Assert.Equal(1, current.CloseCallbacks);

            clients.EchoRounds(10 * cycle, 2, 2, timeout.Token);
        }

        SessionRecord last = handler.Sessions.Values.Single(r => r.Session.IsOpen && r.Session.RemoteEndPoint.Equals(clients.LocalEndPoint(0)));
        seen.Add(last.Session.Id);
        Assert.Equal(4, seen.Distinct().Count());
        Assert.Equal(5, handler.Sessions.Count); // four for client 0, one for client 1 that was never closed
        Assert.True(handler.SessionOf(clients.LocalEndPoint(1)).Session.IsOpen);
        Assert.Equal(2, last.Datagrams);
        ServerStatistics stats = server.GetStatistics();
        Assert.Equal(3, stats.GetClosed(SessionCloseReason.ClosedByApplication));
        Assert.Equal(2, stats.ActiveSessions);
        await ServerChecks.AccountedExactlyAsync(server, 4 + (3 * 4));
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Peers_beyond_MaxSessions_are_dropped_and_counted_until_a_session_ends(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        options.MaxSessions = 5;
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var admitted = new ClientGroup(server.LocalEndPoint, 5) { Diagnostics = () => server.GetStatistics().ToString() };
        using var refused = new ClientGroup(server.LocalEndPoint, 3, idBase: 100) { Diagnostics = () => server.GetStatistics().ToString() };
        admitted.EchoRounds(0, 1, 5, timeout.Token);

        for (int i = 0; i < refused.Count; i++)
        {
            refused.SendSequence(i, 0);
        }

        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: 8);
        Assert.Equal(3, stats.GetDropped(DropReason.SessionLimit));
        Assert.Equal(5, stats.ActiveSessions);
        refused.AssertNothingPending(TimeSpan.FromMilliseconds(50));
        admitted.EchoRounds(1, 1, 5, timeout.Token);

        // One session ends: one more peer fits.
        SessionRecord closing = handler.SessionOf(admitted.LocalEndPoint(0));
        closing.Session.Close();
        await closing.ClosedTask.WaitAsync(TimeSpan.FromSeconds(5), timeout.Token);
        refused.SendSequence(0, 1);
        refused.ExpectReply(0, ClientGroup.Payload(refused.ClientId(0), 1));
        Assert.Equal(5, server.GetStatistics().ActiveSessions);
        await ServerChecks.AccountedExactlyAsync(server, 5 + 3 + 5 + 1, (DropReason.SessionLimit, 3));
    }

    /// <summary>
    /// The handler closes each peer's first session on its first datagram while the peer keeps sending (50 datagrams
    /// back to back, 20 peers): what arrives during and after the close must reach a next session of the same peer,
    /// each datagram exactly once, none dropped (the library re-routes what was queued at the close).
    /// </summary>
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Datagrams_arriving_while_a_session_closes_reach_the_next_session_of_that_peer(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 20;
        const int Burst = 50;
        var handler = new CloseFirstSessionHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers);
        for (int i = 0; i < Peers; i++)
        {
            for (int sequence = 0; sequence < Burst; sequence++)
            {
                clients.SendSequence(i, sequence);
            }
        }

        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: Peers * Burst);
        Assert.True(stats.DatagramsDropped == 0, $"dropped: {ServerChecks.Drops(stats)}; {stats}");
        string[] wrong = [.. Enumerable.Range(0, Peers)
            .Select(i => (Id: clients.ClientId(i), Delivered: handler.DeliveredTo(clients.ClientId(i))))
            .Where(c => !c.Delivered.Order().SequenceEqual(Enumerable.Range(0, Burst)))
            .Select(c => $"client {c.Id}: [{string.Join(",", c.Delivered)}]")];
        Expect.That(wrong.Length == 0,
            () => $"{wrong.Length} of {Peers} peers did not get each of their {Burst} datagrams delivered exactly once; delivery order: {string.Join("; ", wrong.Take(2))}; {stats}");
        Assert.Equal(Peers, stats.GetClosed(SessionCloseReason.ClosedByApplication));
        Assert.Equal(2 * Peers, stats.SessionsAccepted);
        Assert.Equal(Peers, stats.ActiveSessions);
    }

    private sealed class CloseFirstSessionHandler : SessionHandler
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<int, System.Collections.Concurrent.ConcurrentQueue<int>> _delivered = new();

        public int[] DeliveredTo(int clientId) => _delivered.TryGetValue(clientId, out var queue) ? [.. queue] : [];

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            int client = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(datagram);
            int sequence = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(datagram[4..]);
            var queue = _delivered.GetOrAdd(client, _ => new());
            bool firstEver = queue.IsEmpty;
            queue.Enqueue(sequence);
            if (firstEver)
            {
                session.Close();
            }
        }
    }
}
