using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Forwarding;

/// <summary>
/// PROXY protocol v2 toward the upstream: the upstream (which parses the header itself) sees each client's own
/// address and port, on the first datagram of an upstream session or on every datagram, over IPv4 and IPv6.
/// </summary>
public class ProxyProtocolTests
{
    public static TheoryData<string, ProxyProtocolMode, TestEngine> Cases => new()
    {
        { "127.0.0.1", ProxyProtocolMode.FirstDatagram, TestEngine.EpollAdaptive },
        { "127.0.0.1", ProxyProtocolMode.EveryDatagram, TestEngine.EpollAdaptive },
        { "::1", ProxyProtocolMode.FirstDatagram, TestEngine.EpollAdaptive },
        { "::1", ProxyProtocolMode.EveryDatagram, TestEngine.Portable },
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Cases))]
    public async Task The_upstream_sees_each_clients_own_address_and_port(string address, ProxyProtocolMode mode, TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Clients = 30, Rounds = 3;
        IPAddress ip = IPAddress.Parse(address);
        await using TestUpstream upstream = await TestUpstream.StartAsync("proxy-aware", timeout.Token, ip);
        UdpForwarderOptions options = Forwarders.Options(engine, upstream);
        options.Server.EndPoint = new IPEndPoint(ip, 0);
        options.ProxyProtocol = mode;
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(forwarder.LocalEndPoint, Clients) { Diagnostics = () => Forwarders.Describe(forwarder, upstream) };

        int sent = clients.EchoRounds(0, Rounds, Clients, timeout.Token); // the echo comes back without the header

        for (int i = 0; i < Clients; i++)
        {
            Assert.Equal(clients.LocalEndPoint(i), upstream.AnnouncedClients[clients.ClientId(i)]);
        }

        Assert.Equal(ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 0x12 : 0x22, upstream.LastFamily);
        int headers = mode == ProxyProtocolMode.EveryDatagram ? sent : Clients;
        Assert.Equal(headers, upstream.HeadersSeen);
        Assert.Equal(sent - headers, upstream.DatagramsWithoutHeader);
        Assert.Equal(0, (await Forwarders.AccountedAsync(forwarder, sent)).DatagramsDropped);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_session_that_moves_announces_its_client_to_the_new_upstream()
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        await using TestUpstream first = await TestUpstream.StartAsync("first", timeout.Token);
        await using TestUpstream second = await TestUpstream.StartAsync("second", timeout.Token);
        UdpForwarderOptions options = Forwarders.Options(TestEngine.EpollAdaptive, first, second);
        options.ProxyProtocol = ProxyProtocolMode.FirstDatagram;
        options.RequestsPerSession = 2; // every third datagram starts a new upstream session
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(forwarder.LocalEndPoint, 20) { Diagnostics = () => Forwarders.Describe(forwarder, first, second) };

        clients.EchoRounds(0, 6, 20, timeout.Token);

        Assert.Equal(20 * 3, first.HeadersSeen + second.HeadersSeen); // 6 requests, 3 upstream sessions each
        Assert.Equal(20 * 2, forwarder.GetStatistics().SessionsRenewed);
        Assert.Equal(20 * 3, forwarder.GetStatistics().UpstreamSessionsOpened);
    }
}
