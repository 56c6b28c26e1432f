using System.Net;
using System.Net.Sockets;
using UdpSessions.Dtls;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Dtls;

/// <summary>
/// RFC 9146 connection IDs: when the peer's address changes (NAT rebinding, simulated by sending from a second
/// socket), its records reach the listener, the connection ID finds the session, and the session (with its own socket,
/// if it has one) moves to the new address once a record from there authenticated and is the newest.
/// </summary>
public class DtlsConnectionIdTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_session_follows_its_peer_to_a_new_address(TestEngine engine)
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        SessionServerOptions options = DtlsServers.Options(engine);
        bool ownSockets = TestEngines.HasSessionSockets(engine);
        var handler = new DtlsEchoHandler();
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: cancellationToken);
        using DtlsClient client = DtlsClient.Connect(server.LocalEndPoint, DtlsServers.PskClient(connectionId: true));
        Assert.Equal(8, client.ConnectionId.Length);

        DtlsClients.Echo(client, DtlsClients.Payload(1, 0));
        Session session = handler.Only(DtlsClients.LocalEndPoint(client));
        if (ownSockets || engine is TestEngine.EpollAddressMap or TestEngine.Portable)
        {
            Assert.Equal(ownSockets, session.HasOwnSocket); // adaptive placement decides by traffic: either
        }

        for (int move = 1; move <= 3; move++)
        {
            IPEndPoint before = DtlsClients.LocalEndPoint(client);
            client.MoveToNewSocket();
            IPEndPoint after = DtlsClients.LocalEndPoint(client);
            Assert.NotEqual(before, after);
            for (int i = 0; i < 5; i++)
            {
                DtlsClients.Echo(client, DtlsClients.Payload(1, (move * 10) + i)); // the replies reach the new socket
            }

            Assert.Equal(after, session.RemoteEndPoint);
            Assert.Equal(move, session.Dtls!.AddressChanges);
        }

        Assert.Single(handler.Accepted); // one session all along
        Assert.True(session.IsOpen);
        DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
        Assert.Equal(3, stats.AddressChanges);
        Assert.Equal(16, stats.RecordsDelivered);
        DtlsServers.DropsExactly(stats, (DtlsDropReason.CookieMissing, 1));
        Assert.Equal(1, server.GetStatistics().SessionsAccepted);
    }

    [Fact(Timeout = 60_000)]
    public async Task Forged_replayed_or_older_records_from_a_new_address_do_not_move_the_session()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        await using OneClientServer setup = await OneClientServer.StartAsync(connectionId: true, cancellationToken);
        (SessionServer server, DtlsClient client, Session session) = (setup.Server, setup.Client, setup.Session);
        IPEndPoint home = DtlsClients.LocalEndPoint(client);

        byte[] older = DtlsClients.Seal(client, DtlsClients.Payload(2, 1));
        byte[] newer = DtlsClients.Seal(client, DtlsClients.Payload(2, 2));
        DtlsClients.SendRaw(client, newer);
        DtlsClients.ExpectReply(client, DtlsClients.Payload(2, 2));

        using var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        stranger.Connect(server.LocalEndPoint);
        byte[] forged = DtlsClients.Seal(client, DtlsClients.Payload(2, 3)); // a sequence number not seen yet...
        forged[^3] ^= 0x40; // ...but the tag no longer matches
        stranger.Send(forged);
        stranger.Send(newer); // a replay of a record the session already has

        // Authentic and never seen, but older than the newest: delivered, yet it must not move the session (RFC 9146 6).
        stranger.Send(older);
        byte[] reply = new byte[2048];
        Assert.True(client.Receive(reply, DtlsClients.ReplyTimeout) > 0, "the older record's echo goes to the session's address");
        Assert.Equal(home, session.RemoteEndPoint);
        Assert.Equal(0, session.Dtls!.AddressChanges);
        Assert.False(stranger.Poll(TimeSpan.FromMilliseconds(300), SelectMode.SelectRead), "nothing is sent to the unproven address");

        DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
        DtlsServers.DropsExactly(stats, (DtlsDropReason.CookieMissing, 1), (DtlsDropReason.BadMac, 1), (DtlsDropReason.Replayed, 1));
        Assert.Equal(0, stats.AddressChanges);
        Assert.Equal(3, stats.RecordsDelivered);
    }
}
