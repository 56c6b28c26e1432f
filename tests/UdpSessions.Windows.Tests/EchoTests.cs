using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Windows.Tests;

/// <summary>Echo end to end on Windows: payloads checked per session and per message, for both engines.</summary>
public class EchoTests
{
    [Theory(Timeout = 90_000)]
    [MemberData(nameof(WindowsServer.Engines), MemberType = typeof(WindowsServer))]
    public async Task Many_sessions_get_their_own_payloads_back(EngineKind engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(60, TestContext.Current.CancellationToken);
        const int Peers = 200;
        const int Rounds = 5;
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(WindowsServer.Options(engine), handler, cancellationToken: timeout.Token);
        Assert.Equal(engine, server.Engine);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => $"{server.GetStatistics()}" };

        int sent = clients.EchoRounds(0, Rounds, batchSize: 50, timeout.Token);
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(100));

        Assert.Equal(Peers * Rounds, sent);
        Assert.Equal(Peers, handler.Sessions.Count);
        Assert.Equal(0, handler.DuplicateAccepts);
        Assert.Equal(0, handler.SendFailures);
        foreach (SessionRecord record in handler.Sessions.Values)
        {
            Assert.Equal(Rounds, record.Datagrams);
            Assert.Single(record.ClientIds);
            Assert.Equal(engine == EngineKind.Iocp, record.Session.HasOwnSocket);
        }

        ServerStatistics statistics = server.GetStatistics();
        Assert.Equal(Peers, statistics.ActiveSessions);
        Assert.Equal(Peers, statistics.SessionsAccepted);
        Assert.Equal(Peers * Rounds, statistics.DatagramsDelivered);
        Assert.Equal(Peers * Rounds, statistics.DatagramsSent);
        Assert.Equal(0, statistics.DatagramsDropped);
        Assert.Equal(0, statistics.SocketErrors);
    }

    [Fact(Timeout = 60_000)]
    public async Task Auto_resolves_to_the_IOCP_engine_and_the_epoll_engine_is_refused()
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        SessionServerOptions options = WindowsServer.Options(EngineKind.Auto);
        await using SessionServer server = await SessionServer.StartAsync(options, new RecordingHandler(), cancellationToken: timeout.Token);
        Assert.Equal(EngineKind.Iocp, server.Engine);
        Assert.StartsWith("iocp", server.EngineDescription, StringComparison.Ordinal);

        Assert.Throws<PlatformNotSupportedException>(() => new SessionServer(WindowsServer.Options(EngineKind.Epoll)));
    }

    [Fact(Timeout = 60_000)]
    public async Task New_peers_are_accepted_while_earlier_sessions_keep_talking()
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(WindowsServer.Options(), handler, cancellationToken: timeout.Token);
        using var first = new ClientGroup(server.LocalEndPoint, 50, idBase: 0);
        first.EchoRounds(0, 1, 50, timeout.Token);
        Assert.Equal(50, server.GetStatistics().SessionsAccepted);

        // Every wave stays open to the end: a closed client's port could come back as a newcomer's and find the old
        // session (as it should), which would not be an accept.
        var waves = new List<ClientGroup>();
        try
        {
            for (int wave = 1; wave <= 3; wave++)
            {
                var newcomers = new ClientGroup(server.LocalEndPoint, 40, idBase: wave * 1000);
                waves.Add(newcomers);
                newcomers.EchoRounds(0, 2, 40, timeout.Token);
                first.EchoRounds(wave, 1, 50, timeout.Token);
                Assert.Equal(50 + (wave * 40), server.GetStatistics().SessionsAccepted);
            }
        }
        finally
        {
            waves.ForEach(group => group.Dispose());
        }

        Assert.Equal(0, handler.DuplicateAccepts);
        Assert.All(handler.Sessions.Values, record => Assert.Single(record.ClientIds));
    }

    [Fact(Timeout = 60_000)]
    public async Task Sessions_beyond_the_socket_budget_are_served_through_the_listener()
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        SessionServerOptions options = WindowsServer.Options();
        options.SocketBudget = 10;
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, 30);
        clients.EchoRounds(0, 3, 30, timeout.Token);

        Assert.Equal(10, handler.Sessions.Values.Count(record => record.Session.HasOwnSocket));
        Assert.Equal(20, server.GetStatistics().SessionsWithoutSocket);
        Assert.All(handler.Sessions.Values, record => Assert.Equal(3, record.Datagrams));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_throwing_handler_closes_only_its_session()
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler { ThrowWhen = datagram => datagram.Length >= 8 && BitConverter.ToInt32(datagram[4..8]) == 1 && BitConverter.ToInt32(datagram[..4]) == 3 };
        await using SessionServer server = await SessionServer.StartAsync(WindowsServer.Options(), handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, 6);
        clients.EchoRounds(0, 1, 6, timeout.Token);
        clients.SendSequence(3, 1); // this one throws

        SessionRecord failing = handler.SessionOf(clients.LocalEndPoint(3));
        Assert.Equal(SessionCloseReason.Error, await failing.ClosedTask.WaitAsync(TimeSpan.FromSeconds(10), timeout.Token));
        for (int i = 0; i < 6; i++)
        {
            if (i != 3)
            {
                clients.SendSequence(i, 2);
                clients.ExpectReply(i, ClientGroup.Payload(clients.ClientId(i), 2));
            }
        }

        Assert.Equal(1, server.GetStatistics().HandlerErrors);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_async_API_accepts_receives_and_replies()
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        await using SessionServer server = await SessionServer.StartAsync(WindowsServer.Options(), cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, 3);
        for (int i = 0; i < 3; i++)
        {
            byte[] payload = clients.SendSequence(i, 0);
            Session session = await server.AcceptAsync(timeout.Token);
            byte[] buffer = new byte[100];
            int length = await session.ReceiveAsync(buffer, timeout.Token);
            Assert.Equal(payload, buffer[..length]);
            Assert.Equal(Endpoints.Normalize(clients.LocalEndPoint(i)), Endpoints.Normalize(session.RemoteEndPoint));
            await session.SendAsync(buffer.AsMemory(0, length), timeout.Token);
            clients.ExpectReply(i, payload);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task IPv6_loopback_sessions_echo()
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(WindowsServer.Options(EngineKind.Iocp, new IPEndPoint(IPAddress.IPv6Loopback, 0)), handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, 10);
        clients.EchoRounds(0, 3, 10, timeout.Token);
        Assert.All(handler.Sessions.Values, record => Assert.Equal(IPAddress.IPv6Loopback, record.Session.RemoteEndPoint.Address));
    }
}
