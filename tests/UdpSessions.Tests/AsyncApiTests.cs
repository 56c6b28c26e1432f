using System.Collections.Concurrent;
using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>The async API: AcceptAllAsync / AcceptAsync, ReceiveAsync, SendAsync, and how they end.</summary>
public class AsyncApiTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task AcceptAllAsync_and_ReceiveAsync_SendAsync_echo_for_many_sessions(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 300;
        const int Rounds = 3;
        SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), cancellationToken: timeout.Token);
        var accepted = new ConcurrentDictionary<long, Session>();
        var endings = new ConcurrentBag<SessionCloseReason>();
        var echoes = new ConcurrentBag<Task>();
        Task acceptLoop = Task.Run(
            async () =>
            {
                await foreach (Session session in server.AcceptAllAsync(timeout.Token))
                {
                    Assert.True(accepted.TryAdd(session.Id, session), $"session {session.Id} accepted twice");
                    echoes.Add(Task.Run(() => EchoAsync(session, endings, timeout.Token), timeout.Token));
                }
            },
            timeout.Token);

        using (var clients = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => server.GetStatistics().ToString() })
        {
            int sent = await Task.Run(() => clients.EchoRounds(0, Rounds, batchSize: 100, timeout.Token), timeout.Token);
            clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));
            Assert.Equal(Peers, accepted.Count);
            ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: sent);
            Assert.Equal(0, stats.DatagramsDropped);
            Assert.Equal(sent, stats.DatagramsSent);
            var remotes = new HashSet<IPEndPoint>(accepted.Values.Select(s => s.RemoteEndPoint));
            Assert.True(Enumerable.Range(0, Peers).All(i => remotes.Contains(clients.LocalEndPoint(i))), "a client has no session");
        }

        // Stopping ends the accept loop and every pending ReceiveAsync with ServerShutdown.
        await server.DisposeAsync();
        await acceptLoop.WaitAsync(TimeSpan.FromSeconds(10), timeout.Token);
        await Task.WhenAll(echoes).WaitAsync(TimeSpan.FromSeconds(10), timeout.Token);
        Assert.Equal(Peers, endings.Count);
        Assert.All(endings, reason => Assert.Equal(SessionCloseReason.ServerShutdown, reason));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await server.AcceptAsync(timeout.Token));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task ReceiveAsync_keeps_a_datagram_too_big_for_the_buffer_and_throws_SessionClosed_after_the_last_one(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), cancellationToken: timeout.Token);
        using var client = new ClientGroup(server.LocalEndPoint, 1);
        byte[] first = ClientGroup.Payload(client.ClientId(0), 0);
        client.Send(0, first);
        Session session = await server.AcceptAsync(timeout.Token);
        Assert.Equal(client.LocalEndPoint(0), session.RemoteEndPoint);

        // Too small: ArgumentException, and the datagram stays queued.
        byte[] small = new byte[first.Length - 1];
        await Assert.ThrowsAsync<ArgumentException>(async () => await session.ReceiveAsync(small, timeout.Token));
        byte[] buffer = new byte[1000];
        int length = await session.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal(first, buffer[..length]);

        // Empty datagrams come through as length 0.
        client.Send(0, []);
        Assert.Equal(0, await session.ReceiveAsync(buffer, timeout.Token));

        // SendAsync reaches the peer.
        await session.SendAsync(first, timeout.Token);
        client.ExpectReply(0, first);

        // Datagrams that arrived before the close are still returned, then SessionClosedException.
        byte[] second = ClientGroup.Payload(client.ClientId(0), 1);
        byte[] third = ClientGroup.Payload(client.ClientId(0), 2);
        client.Send(0, second);
        client.Send(0, third);
        await Eventually.TrueAsync(() => server.GetStatistics().DatagramsDelivered == 4, () => server.GetStatistics().ToString(), cancellationToken: timeout.Token);
        session.Close();
        length = await session.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal(second, buffer[..length]);
        length = await session.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal(third, buffer[..length]);
        SessionClosedException closed = await Assert.ThrowsAsync<SessionClosedException>(async () => await session.ReceiveAsync(buffer, timeout.Token));
        Assert.Equal(SessionCloseReason.ClosedByApplication, closed.Reason);
        long refusedBefore = server.GetStatistics().SendsDroppedSessionClosed;
        closed = await Assert.ThrowsAsync<SessionClosedException>(async () => await session.SendAsync(first, timeout.Token));
        Assert.Equal(SessionCloseReason.ClosedByApplication, closed.Reason);
        Assert.Equal(refusedBefore + 1, server.GetStatistics().SendsDroppedSessionClosed); // counted like a refused Send
        await Assert.ThrowsAsync<ArgumentException>(async () => await session.SendAsync(new byte[70_000], timeout.Token));
        client.AssertNothingPending(TimeSpan.FromMilliseconds(20));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task ReceiveAsync_throws_SessionClosed_with_IdleTimeout_when_the_peer_goes_quiet(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        SessionServerOptions options = TestEngines.Options(engine);
        options.IdleTimeout = TimeSpan.FromMilliseconds(150);
        await using SessionServer server = await SessionServer.StartAsync(options, cancellationToken: timeout.Token);
        using var client = new ClientGroup(server.LocalEndPoint, 1);
        client.SendSequence(0, 0);
        Session session = await server.AcceptAsync(timeout.Token);
        byte[] buffer = new byte[100];
        await session.ReceiveAsync(buffer, timeout.Token);
        SessionClosedException closed = await Assert.ThrowsAsync<SessionClosedException>(
            async () => await session.ReceiveAsync(buffer, timeout.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(5), timeout.Token));
        Assert.Equal(SessionCloseReason.IdleTimeout, closed.Reason);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_async_api_on_a_handler_server_throws_InvalidOperationException()
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(TestEngine.EpollOwnSocket), handler, cancellationToken: timeout.Token);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await server.AcceptAsync(timeout.Token));
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (Session session in server.AcceptAllAsync(timeout.Token))
            {
                Assert.Fail($"AcceptAllAsync yielded {session}");
            }
        });

        using var client = new ClientGroup(server.LocalEndPoint, 1);
        client.EchoRounds(0, 1, 1, timeout.Token);
        Session accepted = Assert.Single(handler.Sessions.Values).Session;
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await accepted.ReceiveAsync(new byte[100], timeout.Token));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Sessions_beyond_the_accept_backlog_are_closed_with_LimitReached(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        SessionServerOptions options = TestEngines.Options(engine);
        options.AcceptBacklog = 3;
        await using SessionServer server = await SessionServer.StartAsync(options, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, 5);
        for (int i = 0; i < clients.Count; i++)
        {
            clients.SendSequence(i, 0);
        }

        await Eventually.TrueAsync(() => server.GetStatistics().SessionsAccepted == 5 && server.GetStatistics().SessionsClosed == 2,
            () => server.GetStatistics().ToString(), cancellationToken: timeout.Token);
        Assert.Equal(2, server.GetStatistics().GetClosed(SessionCloseReason.LimitReached));
        var taken = new List<Session>();
        for (int i = 0; i < 3; i++)
        {
            taken.Add(await server.AcceptAsync(timeout.Token));
        }

        Assert.All(taken, s => Assert.True(s.IsOpen));
        Assert.Equal(3, taken.Select(s => s.RemoteEndPoint).Distinct().Count());
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Datagrams_beyond_the_receive_queue_capacity_are_dropped_and_counted(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        SessionServerOptions options = TestEngines.Options(engine);
        options.ReceiveQueueCapacity = 2;
        await using SessionServer server = await SessionServer.StartAsync(options, cancellationToken: timeout.Token);
        using var client = new ClientGroup(server.LocalEndPoint, 1);
        var sent = new List<byte[]>();
        for (int sequence = 0; sequence < 5; sequence++)
        {
            sent.Add(client.SendSequence(0, sequence));
        }

        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: 5);
        Assert.Equal(3, stats.GetDropped(DropReason.ReceiveQueueFull));
        Assert.Equal(2, stats.DatagramsDelivered);

        Session session = await server.AcceptAsync(timeout.Token);
        byte[] buffer = new byte[100];
        for (int k = 0; k < 2; k++)
        {
            int length = await session.ReceiveAsync(buffer, timeout.Token);
            Assert.Contains(sent, s => s.AsSpan().SequenceEqual(buffer.AsSpan(0, length)));
        }

        // Room again: the next datagram is queued.
        byte[] later = client.SendSequence(0, 5);
        int last = await session.ReceiveAsync(buffer, timeout.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(5), timeout.Token);
        Assert.Equal(later, buffer[..last]);
    }

    private static async Task EchoAsync(Session session, ConcurrentBag<SessionCloseReason> endings, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[2048];
        try
        {
            while (true)
            {
                int length = await session.ReceiveAsync(buffer, cancellationToken);
                await session.SendAsync(buffer.AsMemory(0, length), cancellationToken);
            }
        }
        catch (SessionClosedException closed)
        {
            endings.Add(closed.Reason);
        }
    }
}
