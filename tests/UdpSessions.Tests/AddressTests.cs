using System.Net;
using System.Net.Sockets;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>IPv6, dual-stack and wildcard listeners: replies come from the address the peer wrote to.</summary>
public class AddressTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Ipv6_loopback_server_echoes_for_every_session(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 25;
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine, new IPEndPoint(IPAddress.IPv6Loopback, 0));
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        Assert.Equal(IPAddress.IPv6Loopback, server.LocalEndPoint.Address);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => server.GetStatistics().ToString() };

        int sent = clients.EchoRounds(0, 3, Peers, timeout.Token);
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));

        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: sent);
        Assert.Equal(0, stats.DatagramsDropped);
        Dictionary<IPEndPoint, List<SessionRecord>> byRemote = handler.ByRemote();
        for (int i = 0; i < Peers; i++)
        {
            SessionRecord record = Assert.Single(byRemote[clients.LocalEndPoint(i)]);
            Assert.Equal(AddressFamily.InterNetworkV6, record.Session.RemoteEndPoint.AddressFamily);
            Assert.Equal(server.LocalEndPoint, record.Session.LocalEndPoint);
            Assert.Equal([clients.ClientId(i)], record.ClientIds);
            Assert.Equal(TestEngines.HasSessionSockets(engine), record.Session.HasOwnSocket);
        }
    }

    /// <summary>[::] serves IPv4 peers too (as ::ffff:a.b.c.d) and IPv6 peers, each answered from what it wrote to.</summary>
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Dual_stack_listener_answers_ipv4_and_ipv6_peers_from_the_right_address(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine, new IPEndPoint(IPAddress.IPv6Any, 0));
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        int port = server.LocalEndPoint.Port;

        await CheckRepliesComeFromTargetAsync(server, handler, [new IPEndPoint(IPAddress.Loopback, port), new IPEndPoint(IPAddress.IPv6Loopback, port)], timeout.Token);
        if (engine != TestEngine.Portable)
        {
            // The portable engine leaves the source address of replies to the route (documented), so only the
            // connected-socket engine is held to answering 127.0.0.2 from 127.0.0.2.
            await CheckRepliesComeFromTargetAsync(server, handler, [new IPEndPoint(IPAddress.Parse("127.0.0.2"), port)], timeout.Token);
        }
    }

    /// <summary>
    /// 0.0.0.0: every session is served through the listeners (IP_PKTINFO picks each reply's source), whatever the
    /// placement asks for (see <see cref="SessionPlacement"/>).
    /// </summary>
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.Epoll), MemberType = typeof(TestEngines))]
    public async Task Ipv4_wildcard_listener_answers_from_the_address_the_peer_wrote_to(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        var logs = new CapturingLoggerFactory();
        SessionServerOptions options = TestEngines.Options(engine, new IPEndPoint(IPAddress.Any, 0));
        await using SessionServer server = await SessionServer.StartAsync(options, handler, logs, timeout.Token);
        int port = server.LocalEndPoint.Port;
        IPEndPoint[] targets = [.. new[] { "127.0.0.2", "127.0.0.1", "127.0.0.3", "127.1.2.3" }.Select(a => new IPEndPoint(IPAddress.Parse(a), port))];

        await CheckRepliesComeFromTargetAsync(server, handler, targets, timeout.Token, () => logs.Summary(2));
        Assert.All(handler.Sessions.Values, r => Assert.False(r.Session.HasOwnSocket));
        Assert.Equal(0, server.GetStatistics().SessionsPromoted);
    }

    /// <summary>
    /// For each target, a few unconnected IPv4/IPv6 clients (bound to loopback) write to it; every reply must come from
    /// exactly that target address and the session's LocalEndPoint must be it.
    /// </summary>
    private static async Task CheckRepliesComeFromTargetAsync(SessionServer server, RecordingHandler handler, IPEndPoint[] targets,
        CancellationToken cancellationToken, Func<string>? log = null)
    {
        const int PerTarget = 4;
        var sockets = new List<(Socket Socket, IPEndPoint Target, int Id)>();
        try
        {
            int id = 50_000 + handler.Sessions.Count;
            foreach (IPEndPoint target in targets)
            {
                for (int k = 0; k < PerTarget; k++)
                {
                    var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                    socket.Bind(new IPEndPoint(target.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, 0));
                    sockets.Add((socket, target, id++));
                }
            }

            byte[] buffer = new byte[1024];
            for (int sequence = 0; sequence < 3; sequence++)
            {
                foreach ((Socket socket, IPEndPoint target, int clientId) in sockets)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    byte[] payload = ClientGroup.Payload(clientId, sequence);
                    socket.SendTo(payload, target);
                    Expect.That(socket.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead),
                        () => $"no reply for a client writing to {target}: {server.GetStatistics()} {log?.Invoke()}");
                    EndPoint from = new IPEndPoint(target.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
                    int length = socket.ReceiveFrom(buffer, ref from);
                    Assert.Equal(target, from);
                    Assert.Equal(payload, buffer[..length]);
                }
            }

            foreach ((Socket socket, IPEndPoint target, int clientId) in sockets)
            {
                SessionRecord record = handler.SessionOf((IPEndPoint)socket.LocalEndPoint!);
                if (server.Engine != EngineKind.Portable || !server.LocalEndPoint.Address.Equals(IPAddress.IPv6Any))
                {
                    // The portable engine reads with ReceiveFrom, which does not tell the destination address: on a
                    // wildcard listener its sessions report the wildcard as LocalEndPoint (see the test report).
                    Assert.Equal(target, Endpoints.Normalize(record.Session.LocalEndPoint));
                }

                Assert.Equal([clientId], record.ClientIds);
                Assert.Equal(3, record.Datagrams);
                if (server.LocalEndPoint.AddressFamily == AddressFamily.InterNetworkV6 && target.AddressFamily == AddressFamily.InterNetwork)
                {
                    Assert.True(record.Session.RemoteEndPoint.Address.IsIPv4MappedToIPv6, $"{record.Session.RemoteEndPoint} on a dual-stack server");
                }

                Assert.Equal(0, socket.Available);
            }
        }
        finally
        {
            foreach ((Socket socket, _, _) in sockets)
            {
                socket.Dispose();
            }
        }
    }
}
