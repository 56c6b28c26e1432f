using System.Net;
using System.Net.Sockets;
using UdpSessions.ProxyProtocol;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Operations;

/// <summary>
/// PROXY protocol v2 on the server: the decoder against hand-built headers, and a server behind a "balancer" (a socket
/// bound to 127.0.0.2, the allowed address) whose sessions report the client named in the header, while a header from
/// any other address is dropped and counted; and behind the project's own <see cref="UdpForwarder"/> sending PROXY v2.
/// </summary>
public class ProxyProtocolTests
{
    private static readonly IPEndPoint s_client = new(IPAddress.Parse("203.0.113.7"), 4242);

    [Fact]
    public void Headers_written_for_IPv4_and_IPv6_read_back_and_bad_ones_are_told_apart()
    {
        byte[] buffer = new byte[128];
        var destination = new IPEndPoint(IPAddress.Parse("198.51.100.1"), 53);
        int length = ProxyProtocolV2.Write(buffer, s_client, destination);
        Assert.Equal(ProxyProtocolV2.IPv4HeaderLength, length);
        Assert.Equal(ProxyHeaderStatus.Proxy, ProxyProtocolV2.TryRead(buffer.AsSpan(0, length + 5), out ProxyHeader header));
        Assert.Equal((s_client, destination, length), (header.Source, header.Destination, header.Length));

        var client6 = new IPEndPoint(IPAddress.Parse("2001:db8::7"), 5555);
        length = ProxyProtocolV2.Write(buffer, client6, new IPEndPoint(IPAddress.Parse("2001:db8::1"), 443));
        Assert.Equal(ProxyHeaderStatus.Proxy, ProxyProtocolV2.TryRead(buffer.AsSpan(0, length), out header));
        Assert.Equal((client6, ProxyProtocolV2.IPv6HeaderLength), (header.Source, header.Length));

        Assert.Equal(ProxyHeaderStatus.NotProxy, ProxyProtocolV2.TryRead("hello"u8, out _));
        Assert.Equal(ProxyHeaderStatus.Malformed, ProxyProtocolV2.TryRead(buffer.AsSpan(0, length - 1), out _)); // cut short
        buffer[13] = 0x32; // UNIX addresses name no IP client
        Assert.Equal(ProxyHeaderStatus.Malformed, ProxyProtocolV2.TryRead(buffer.AsSpan(0, length), out _));
        buffer[12] = 0x20; // LOCAL: the balancer's own health check
        Assert.Equal(ProxyHeaderStatus.Local, ProxyProtocolV2.TryRead(buffer.AsSpan(0, length), out header));
        Assert.Equal(length, header.Length);
        buffer[12] = 0x11; // version 1 in the binary form does not exist
        Assert.Equal(ProxyHeaderStatus.Malformed, ProxyProtocolV2.TryRead(buffer.AsSpan(0, length), out _));
    }

    [Fact(Timeout = 60_000)]
    public async Task Sessions_behind_an_allowed_balancer_report_the_client_of_the_header_and_a_header_from_elsewhere_is_rejected_and_counted()
    {
        TestContext.Current.CancellationToken.ThrowIfCancellationRequested();
        var handler = new RecordingHandler();
        await using SessionServer server = await StartAsync(handler, ProxyProtocolMode.FirstDatagram);
        using Socket balancer = Bound("127.0.0.2", server);
        using Socket stranger = Bound("127.0.0.3", server);

        balancer.Send([.. Header(server), .. "hello"u8]);
        Assert.Equal("hello"u8.ToArray(), await ReceiveAsync(balancer)); // the application saw the payload alone
        balancer.Send("again, no header"u8); // first-datagram mode: the rest of the flow is plain
        Assert.Equal("again, no header"u8.ToArray(), await ReceiveAsync(balancer));
        Assert.Equal(s_client, handler.Sessions.Values.Single().Session.RemoteEndPoint);

        stranger.Send([.. Header(server), .. "spoofed"u8]); // anyone could claim any client: dropped, counted
        stranger.Send("direct"u8); // a client without a balancer is served as it is
        Assert.Equal("direct"u8.ToArray(), await ReceiveAsync(stranger));
        using Socket headless = Bound("127.0.0.2", server);
        headless.Send("no header from the balancer"u8); // the balancer's flows must name their client

        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: 5);
        ServerChecks.DropsExactly(stats, (DropReason.ProxyHeaderRejected, 2));
        Assert.Equal(2, stats.SessionsAccepted);
        Assert.Contains(handler.Sessions.Values, record => record.Session.RemoteEndPoint.Equals(stranger.LocalEndPoint));
    }

    [Fact(Timeout = 60_000)]
    public async Task In_every_datagram_mode_each_header_must_name_the_flows_client()
    {
        TestContext.Current.CancellationToken.ThrowIfCancellationRequested();
        var handler = new RecordingHandler();
        await using SessionServer server = await StartAsync(handler, ProxyProtocolMode.EveryDatagram);
        using Socket balancer = Bound("127.0.0.2", server);
        for (int i = 0; i < 3; i++)
        {
            balancer.Send([.. Header(server), (byte)i]);
            Assert.Equal(new[] { (byte)i }, await ReceiveAsync(balancer));
        }

        balancer.Send([(byte)9]); // no header
        byte[] other = new byte[64];
        int length = ProxyProtocolV2.Write(other, new IPEndPoint(IPAddress.Parse("203.0.113.8"), 4242), (IPEndPoint)balancer.RemoteEndPoint!);
        balancer.Send([.. other.AsSpan(0, length), 9]); // another client on the same flow
        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: 5);
        ServerChecks.DropsExactly(stats, (DropReason.ProxyHeaderRejected, 2));
        Assert.Equal(3, handler.Sessions.Values.Single().Datagrams);
        Assert.Equal(s_client, handler.Sessions.Values.Single().Session.RemoteEndPoint);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(ProxyProtocolMode.FirstDatagram)]
    [InlineData(ProxyProtocolMode.EveryDatagram)]
    public async Task Behind_a_UdpForwarder_that_sends_PROXY_v2_each_session_reports_the_client_behind_it(ProxyProtocolMode mode)
    {
        // A real balancer: the project's own forwarder, adding the header as it does for any upstream.
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(new SessionServerOptions
        {
            EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            ProxyProtocol = new ProxyProtocolOptions { Mode = mode, AllowedSources = [IPNetwork.Parse("127.0.0.1/32")] },
        }, handler, cancellationToken: cancellationToken);
        var forwarding = new UdpForwarderOptions { Server = { EndPoint = new IPEndPoint(IPAddress.Loopback, 0) }, ProxyProtocol = mode };
        forwarding.Upstreams.Add(new UpstreamOptions(server.LocalEndPoint));
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(forwarding, cancellationToken: cancellationToken);

        var clients = new List<Socket>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                clients.Add(client);
                client.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.3"), 0));
                client.Connect(forwarder.LocalEndPoint);
                for (int round = 0; round < 3; round++)
                {
                    byte[] datagram = [(byte)i, (byte)round];
                    client.Send(datagram);
                    Assert.Equal(datagram, await ReceiveAsync(client)); // the echo came back through the forwarder, header-free
                }
            }

            Assert.Equal(
                clients.Select(client => (IPEndPoint)client.LocalEndPoint!).OrderBy(endPoint => endPoint.Port),
                handler.Sessions.Values.Select(record => record.Session.RemoteEndPoint).OrderBy(endPoint => endPoint.Port));
            Assert.All(handler.Sessions.Values, record => Assert.Equal(3, record.Datagrams));
            Assert.Equal(0, server.GetStatistics().GetDropped(DropReason.ProxyHeaderRejected));
        }
        finally
        {
            clients.ForEach(client => client.Dispose());
        }
    }

    private static Task<SessionServer> StartAsync(SessionHandler handler, ProxyProtocolMode mode) => SessionServer.StartAsync(
        new SessionServerOptions
        {
            EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            IoThreads = 2,
            ProxyProtocol = new ProxyProtocolOptions { Mode = mode, AllowedSources = [IPNetwork.Parse("127.0.0.2/32")] },
        },
        handler).AsTask();

    private static byte[] Header(SessionServer server)
    {
        byte[] header = new byte[ProxyProtocolV2.IPv4HeaderLength];
        ProxyProtocolV2.Write(header, s_client, server.LocalEndPoint);
        return header;
    }

    private static Socket Bound(string address, SessionServer server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
        socket.Connect(server.LocalEndPoint);
        return socket;
    }

    private static async Task<byte[]> ReceiveAsync(Socket socket)
    {
        byte[] buffer = new byte[256];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        int length = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return buffer[..length];
    }
}
