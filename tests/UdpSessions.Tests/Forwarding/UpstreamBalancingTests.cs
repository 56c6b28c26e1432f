using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Forwarding;

/// <summary>
/// Several upstreams: consistent hashing keeps every client on one upstream, weights set the shares, removing an
/// upstream moves exactly its clients (and adding it back moves no established one); round robin spreads datagrams.
/// </summary>
public class UpstreamBalancingTests
{
    [Fact(Timeout = 60_000)]
    public async Task Each_client_session_stays_on_one_upstream_and_weights_set_the_shares()
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        const int Clients = 600;
        await using TestUpstream a = await TestUpstream.StartAsync("a", timeout.Token);
        await using TestUpstream b = await TestUpstream.StartAsync("b", timeout.Token);
        await using TestUpstream heavy = await TestUpstream.StartAsync("heavy", timeout.Token);
        UdpForwarderOptions options = Forwarders.Options(TestEngine.EpollAdaptive, a, b);
        options.Upstreams.Add(new UpstreamOptions(heavy.EndPoint) { Weight = 2 });
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(forwarder.LocalEndPoint, Clients) { Diagnostics = () => Forwarders.Describe(forwarder, a, b, heavy) };

        clients.EchoRounds(0, 4, 200, timeout.Token);

        TestUpstream[] all = [a, b, heavy];
        for (int i = 0; i < Clients; i++)
        {
            int id = clients.ClientId(i);
            TestUpstream[] serving = [.. all.Where(u => u.DatagramsByClient.ContainsKey(id))];
            Assert.True(serving.Length == 1, $"client {id} was served by {string.Join(", ", serving.Select(u => u.Name))}");
            Assert.Equal(4, serving[0].DatagramsByClient[id]);
        }

        // Expected shares 25 / 25 / 50 %: 160 points per unit of weight keep them within a few percent.
        Assert.InRange(a.DatagramsByClient.Count, Clients * 0.15, Clients * 0.35);
        Assert.InRange(b.DatagramsByClient.Count, Clients * 0.15, Clients * 0.35);
        Assert.InRange(heavy.DatagramsByClient.Count, Clients * 0.38, Clients * 0.62);
        Assert.Equal(0, forwarder.GetStatistics().DatagramsDropped);
    }

    [Fact(Timeout = 60_000)]
    public async Task Removing_an_upstream_moves_only_its_clients_and_adding_it_back_moves_no_established_one()
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        const int Clients = 300;
        await using TestUpstream a = await TestUpstream.StartAsync("a", timeout.Token);
        await using TestUpstream b = await TestUpstream.StartAsync("b", timeout.Token);
        await using TestUpstream c = await TestUpstream.StartAsync("c", timeout.Token);
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(Forwarders.Options(TestEngine.EpollAdaptive, a, b, c), cancellationToken: timeout.Token);
        using var clients = new ClientGroup(forwarder.LocalEndPoint, Clients) { Diagnostics = () => Forwarders.Describe(forwarder, a, b, c) };
        TestUpstream[] all = [a, b, c];

        clients.EchoRounds(0, 1, Clients, timeout.Token);
        Dictionary<int, TestUpstream> before = Placement(clients, all);
        int onC = before.Values.Count(u => u == c);
        Assert.InRange(onC, Clients * 0.18, Clients * 0.50); // about a third

        Assert.True(forwarder.RemoveUpstream(c.EndPoint));
        clients.EchoRounds(1, 2, Clients, timeout.Token);
        for (int i = 0; i < Clients; i++)
        {
            int id = clients.ClientId(i);
            TestUpstream[] serving = [.. all.Where(u => u.DatagramsByClient.ContainsKey(id))];
            if (before[id] == c)
            {
                Assert.Equal(1, c.DatagramsByClient[id]); // only the datagram before the removal
                TestUpstream moved = Assert.Single(serving, u => u != c);
                Assert.Equal(2, moved.DatagramsByClient[id]);
            }
            else
            {
                Assert.Equal(before[id], Assert.Single(serving)); // not disturbed
                Assert.Equal(3, before[id].DatagramsByClient[id]);
            }
        }

        ForwarderStatistics stats = forwarder.GetStatistics();
        Assert.Equal(onC, stats.SessionsMovedOffRemoved);
        Assert.Equal(0, stats.SessionsMovedOffUnhealthy);

        // Back in the set: established sessions stay where they are; new clients include c again, in its share.
        Assert.True(forwarder.AddUpstream(new UpstreamOptions(c.EndPoint)));
        int cBefore = c.DatagramsByClient.Values.Sum();
        clients.EchoRounds(3, 1, Clients, timeout.Token);
        Assert.Equal(cBefore, c.DatagramsByClient.Values.Sum());
        using var newcomers = new ClientGroup(forwarder.LocalEndPoint, Clients, idBase: 10_000);
        newcomers.EchoRounds(0, 1, Clients, timeout.Token);
        Assert.InRange(Placement(newcomers, all).Values.Count(u => u == c), Clients * 0.18, Clients * 0.50);
        Assert.Equal(0, forwarder.GetStatistics().DatagramsDropped);
    }

    [Fact(Timeout = 60_000)]
    public async Task Round_robin_spreads_datagrams_by_weight_and_returns_every_reply()
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        await using TestUpstream light = await TestUpstream.StartAsync("light", timeout.Token);
        await using TestUpstream heavy = await TestUpstream.StartAsync("heavy", timeout.Token);
        UdpForwarderOptions options = Forwarders.Options(TestEngine.EpollAdaptive, light);
        options.Upstreams.Add(new UpstreamOptions(heavy.EndPoint) { Weight = 3 });
        options.Balancing = UpstreamBalancing.RoundRobin;
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(forwarder.LocalEndPoint, 2) { Diagnostics = () => Forwarders.Describe(forwarder, light, heavy) };

        int sent = clients.EchoRounds(0, 200, 1, timeout.Token); // one datagram in flight at a time: replies in order
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));

        // Smooth weighted round robin, one rotation per I/O thread: 1 in 4 datagrams to the light one. (The two clients
        // may share a thread, and then a rotation, so only the totals are exact.)
        Assert.Equal(100, light.DatagramsByClient.Values.Sum());
        Assert.Equal(300, heavy.DatagramsByClient.Values.Sum());

        ForwarderStatistics stats = await Forwarders.AccountedAsync(forwarder, sent);
        Assert.Equal(0, stats.DatagramsDropped);
        Assert.Equal(2, stats.UpstreamSessionsOpened); // one unconnected socket per client session
    }

    private static Dictionary<int, TestUpstream> Placement(ClientGroup clients, TestUpstream[] upstreams) =>
        Enumerable.Range(0, clients.Count).Select(clients.ClientId)
            .ToDictionary(id => id, id => upstreams.Single(u => u.DatagramsByClient.ContainsKey(id)));
}
