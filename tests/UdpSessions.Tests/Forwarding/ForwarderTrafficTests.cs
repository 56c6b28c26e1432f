using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Forwarding;

/// <summary>
/// Verified traffic through a forwarder to a real echo upstream: every reply reaches its own client, exact, nothing
/// lost; one client, 5,000 at once, and clients that keep coming and going.
/// </summary>
public class ForwarderTrafficTests
{
    public static TheoryData<TestEngine> Engines => new() { TestEngine.EpollAdaptive, TestEngine.EpollOwnSocket, TestEngine.Portable };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Engines))]
    public async Task One_client_session_is_forwarded_both_ways(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        await using TestUpstream upstream = await TestUpstream.StartAsync("echo", timeout.Token);
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(Forwarders.Options(engine, upstream), cancellationToken: timeout.Token);
        using var client = new ClientGroup(forwarder.LocalEndPoint, 1) { Diagnostics = () => Forwarders.Describe(forwarder, upstream) };

        int sent = client.EchoRounds(0, 200, 1, timeout.Token);
        client.AssertNothingPending(TimeSpan.FromMilliseconds(20));

        ForwarderStatistics stats = await Forwarders.AccountedAsync(forwarder, sent);
        Assert.Equal(sent, stats.Requests);
        Assert.Equal(sent, stats.ResponsesForwarded);
        Assert.Equal(0, stats.DatagramsDropped);
        Assert.Equal(1, stats.UpstreamSessionsOpened);
        Assert.Equal(1, stats.Server.SessionsAccepted);
        Assert.Equal(sent, upstream.DatagramsByClient[client.ClientId(0)]);
        Assert.Equal(1, upstream.Statistics.SessionsAccepted); // one upstream session: one socket, one source port
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Engines))]
    public async Task Five_thousand_client_sessions_each_get_their_own_replies(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(90, TestContext.Current.CancellationToken);
        const int Clients = 5_000;
        await using TestUpstream upstream = await TestUpstream.StartAsync("echo", timeout.Token);
        UdpForwarderOptions options = Forwarders.Options(engine, upstream);
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(forwarder.LocalEndPoint, Clients) { Diagnostics = () => Forwarders.Describe(forwarder, upstream) };

        int sent = clients.EchoRounds(0, 3, 250, timeout.Token);
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(50));

        ForwarderStatistics stats = await Forwarders.AccountedAsync(forwarder, sent);
        Assert.Equal(0, stats.DatagramsDropped);
        Assert.Equal(Clients, stats.Server.SessionsAccepted);
        Assert.Equal(Clients, stats.UpstreamSessionsActive);
        Assert.Equal(Clients, upstream.Statistics.SessionsAccepted);
        Assert.All(Enumerable.Range(0, Clients), i => Assert.Equal(3, upstream.DatagramsByClient[clients.ClientId(i)]));
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Engines))]
    public async Task Clients_that_come_and_go_are_forwarded_and_their_upstream_sockets_closed(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(90, TestContext.Current.CancellationToken);
        const int Waves = 8, ClientsPerWave = 250, Rounds = 3;
        await using TestUpstream upstream = await TestUpstream.StartAsync("echo", timeout.Token);
        UdpForwarderOptions options = Forwarders.Options(engine, upstream);
        options.Server.IdleTimeout = TimeSpan.FromMilliseconds(300);
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);

        // Each wave's sockets stay open (silent) until the end, so that no later client reuses a departed one's port.
        var waves = new List<ClientGroup>();
        int sent = 0;
        try
        {
            for (int wave = 0; wave < Waves; wave++)
            {
                var clients = new ClientGroup(forwarder.LocalEndPoint, ClientsPerWave, idBase: wave * ClientsPerWave)
                {
                    Diagnostics = () => Forwarders.Describe(forwarder, upstream),
                };
                waves.Add(clients);
                sent += clients.EchoRounds(0, Rounds, ClientsPerWave, timeout.Token);
            }
        }
        finally
        {
            waves.ForEach(clients => clients.Dispose());
        }

        ForwarderStatistics stats = await Forwarders.AccountedAsync(forwarder, sent);
        Assert.Equal(0, stats.DatagramsDropped);
        Assert.Equal(Waves * ClientsPerWave, stats.Server.SessionsAccepted);

        // The departed clients' sessions time out, and their upstream sockets go with them.
        await Eventually.TrueAsync(() => forwarder.GetStatistics() is { UpstreamSessionsActive: 0, Server.ActiveSessions: 0 },
            () => Forwarders.Describe(forwarder, upstream), cancellationToken: timeout.Token);
        Assert.Equal(Waves * ClientsPerWave, forwarder.GetStatistics().UpstreamSessionsClosed);
    }
}
