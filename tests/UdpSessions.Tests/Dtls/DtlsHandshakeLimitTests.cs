using System.Net.Sockets;
using UdpSessions.Dtls;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Dtls;

/// <summary>Handshakes are bounded: in time (a stalled one is abandoned), in number (half-open cap) and by failure.</summary>
public class DtlsHandshakeLimitTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_handshake_that_stalls_is_abandoned_after_the_timeout()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var handler = new DtlsEchoHandler();
        SessionServerOptions options = DtlsServers.Options(configure: dtls => dtls.HandshakeTimeout = TimeSpan.FromMilliseconds(500));
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: cancellationToken);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Connect(server.LocalEndPoint);
        RawHandshake.SendHelloWithCookie(peer); // ... and never answers the server's flight

        await Eventually.TrueAsync(() => server.GetStatistics().GetClosed(SessionCloseReason.DtlsHandshakeTimeout) == 1,
            () => $"{server.GetStatistics()}; {server.GetDtlsStatistics()}", cancellationToken: cancellationToken);
        DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
        Assert.Equal(1, stats.HandshakesStarted);
        Assert.Equal(1, stats.HandshakesTimedOut);
        Assert.Equal(0, server.GetStatistics().ActiveSessions);
        Assert.Empty(handler.Accepted);
        Assert.Empty(handler.Closed);
    }

    [Fact(Timeout = 60_000)]
    public async Task ClientHellos_beyond_the_handshake_limit_are_dropped_until_a_slot_frees()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var handler = new DtlsEchoHandler();
        SessionServerOptions options = DtlsServers.Options(configure: dtls =>
        {
            dtls.MaxConcurrentHandshakes = 2;
            dtls.HandshakeTimeout = TimeSpan.FromSeconds(1.5);
        });
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: cancellationToken);
        var stalled = new List<Socket>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                stalled.Add(peer);
                peer.Connect(server.LocalEndPoint);
                RawHandshake.SendHelloWithCookie(peer, randomSeed: (byte)(i + 1));
            }

            await Eventually.TrueAsync(() => server.GetDtlsStatistics()!.GetDropped(DtlsDropReason.HandshakeLimit) == 1,
                () => $"{server.GetDtlsStatistics()}", cancellationToken: cancellationToken);
            Assert.Equal(2, server.GetDtlsStatistics()!.HandshakesStarted);
            Assert.True(server.GetStatistics().SessionsAccepted <= 2);

            // A real client gets through once the stalled handshakes time out (it retransmits its ClientHello meanwhile).
            using DtlsClient client = await Task.Run(() => DtlsClient.Connect(server.LocalEndPoint, DtlsServers.PskClient()), cancellationToken);
            DtlsClients.Echo(client, DtlsClients.Payload(1, 1));
        }
        finally
        {
            stalled.ForEach(s => s.Dispose());
        }

        DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
        Assert.Equal(2, stats.HandshakesTimedOut);
        Assert.Equal(1, stats.HandshakesCompleted);
        Assert.True(stats.GetDropped(DtlsDropReason.HandshakeLimit) >= 1, stats.ToString());
        Assert.Single(handler.Accepted);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_client_with_the_wrong_key_fails_its_handshake_and_the_application_never_sees_it()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var handler = new DtlsEchoHandler();
        SessionServerOptions options = DtlsServers.Options(configure: dtls => dtls.HandshakeTimeout = TimeSpan.FromSeconds(3));
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: cancellationToken);
        DtlsClientOptions wrong = DtlsServers.PskClient();
        wrong.PskKey = "not the key at all"u8.ToArray();
        wrong.HandshakeTimeout = TimeSpan.FromSeconds(5);
        Assert.ThrowsAny<IOException>(() => DtlsClient.Connect(server.LocalEndPoint, wrong));

        DtlsClientOptions unknown = DtlsServers.PskClient();
        unknown.PskIdentity = "stranger";
        unknown.HandshakeTimeout = TimeSpan.FromSeconds(5);
        Assert.ThrowsAny<IOException>(() => DtlsClient.Connect(server.LocalEndPoint, unknown));

        // A wrong key makes the client's Finished undecryptable, which DTLS discards silently: that handshake ends by
        // the server's timeout (or an ICMP error, when the session has a socket of its own and the client has gone).
        await Eventually.TrueAsync(() => server.GetStatistics().SessionsClosed == 2, () => $"{server.GetStatistics()}", cancellationToken: cancellationToken);
        DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
        Assert.Equal(2, stats.HandshakesFailed + stats.HandshakesTimedOut);
        Assert.Equal(0, stats.HandshakesCompleted);
        Assert.Empty(handler.Accepted);
        Assert.Empty(handler.Closed);
    }
}
