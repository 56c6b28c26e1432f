using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using UdpSessions.Dtls;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Dtls;

/// <summary>
/// The stateless cookie exchange runs on the listener before anything exists for a peer: without a valid cookie no
/// session, socket or handshake state is created, and a flood of ClientHellos leaves established sessions alone.
/// </summary>
public class DtlsCookieTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_ClientHello_without_a_valid_cookie_creates_no_session_socket_or_handshake()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        await FileDescriptors.WarmUpAsync();
        await using SessionServer server = await SessionServer.StartAsync(DtlsServers.Options(), new DtlsEchoHandler(), cancellationToken: cancellationToken);
        using var a = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var b = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        a.Connect(server.LocalEndPoint);
        b.Connect(server.LocalEndPoint);
        int fdsBefore = FileDescriptors.Count();

        byte[] hello = RawHandshake.ClientHello([]);
        a.Send(hello);
        byte[] cookie = ReceiveCookie(a, hello.Length);
        Assert.Equal(32, cookie.Length);

        a.Send(RawHandshake.ClientHello(RandomNumberGenerator.GetBytes(32), 1, 1)); // forged
        ReceiveCookie(a, hello.Length);
        b.Send(RawHandshake.ClientHello(cookie, 1, 1)); // a's cookie from another port
        ReceiveCookie(b, hello.Length);
        a.Send("not a ClientHello at all"u8);
        Assert.False(a.Poll(TimeSpan.FromMilliseconds(300), SelectMode.SelectRead), "garbage must not be answered");

        await ServerChecks.AccountedExactlyAsync(server, 4, (DropReason.Challenged, 3), (DropReason.AcceptFilterRejected, 1));
        ServerStatistics engine = server.GetStatistics();
        Assert.Equal(0, engine.SessionsAccepted);
        Assert.Equal(3, engine.ChallengesSent);
        DtlsStatistics dtls = await DtlsServers.AccountedAsync(server);
        Assert.Equal(0, dtls.HandshakesStarted);
        Assert.Equal(3, dtls.HelloVerifyRequestsSent);
        DtlsServers.DropsExactly(dtls, (DtlsDropReason.CookieMissing, 1), (DtlsDropReason.CookieInvalid, 2), (DtlsDropReason.NotClientHello, 1));
        Assert.Equal(0, server.DtlsLayer!.Workers.Threads);
        Assert.Equal(fdsBefore, FileDescriptors.Count());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_flood_of_ClientHellos_from_many_sources_leaves_established_sessions_unaffected()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var handler = new DtlsEchoHandler();
        await using SessionServer server = await SessionServer.StartAsync(DtlsServers.Options(), handler, cancellationToken: cancellationToken);
        DtlsClient[] clients = DtlsClients.Connect(server.LocalEndPoint, 20, _ => DtlsServers.PskClient(), 4, cancellationToken);
        try
        {
            using var stop = new CancellationTokenSource();
            Task<int> echoes = Task.Factory.StartNew(() =>
            {
                int rounds = 0;
                while (!stop.IsCancellationRequested)
                {
                    for (int i = 0; i < clients.Length; i++)
                    {
                        DtlsClients.Echo(clients[i], DtlsClients.Payload(i, rounds));
                    }

                    rounds++;
                }

                return rounds;
            }, TaskCreationOptions.LongRunning);

            const int Flood = 3_000;
            byte[] noCookie = RawHandshake.ClientHello([]);
            byte[] badCookie = RawHandshake.ClientHello(RandomNumberGenerator.GetBytes(32), 1, 1);
            int sent = SourceFlood.Send(server.LocalEndPoint, Flood, i => SourceFlood.SourceAddress(i), i => i % 2 == 0 ? noCookie : badCookie,
                () => server.GetStatistics().DatagramsReceived, cancellationToken);
            await stop.CancelAsync();
            int rounds = await echoes.WaitAsync(cancellationToken);
            Assert.True(rounds > 0);

            DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
            Assert.Equal(20, stats.HandshakesCompleted);
            Assert.Equal(20, handler.Accepted.Count);
            Assert.Equal(20, server.GetStatistics().SessionsAccepted);
            Assert.Equal(20 + sent, stats.HelloVerifyRequestsSent);
            Assert.Equal((long)rounds * clients.Length, stats.RecordsDelivered);
            DtlsServers.DropsExactly(stats, (DtlsDropReason.CookieMissing, 20 + (sent / 2)), (DtlsDropReason.CookieInvalid, sent / 2));
        }
        finally
        {
            DtlsClients.DisposeAll(clients);
        }
    }

    private static byte[] ReceiveCookie(Socket socket, int helloLength)
    {
        Assert.True(socket.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead), "no HelloVerifyRequest");
        byte[] buffer = new byte[2048];
        int length = socket.Receive(buffer);
        Assert.True(length <= helloLength, "a HelloVerifyRequest must not be larger than the ClientHello (amplification)");
        return RawHandshake.CookieOf(buffer.AsSpan(0, length)) ?? throw new InvalidOperationException("not a HelloVerifyRequest");
    }
}
