using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using UdpSessions.Dtls;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Dtls;

/// <summary>
/// The session lifecycle over DTLS: close_notify both ways, fatal alerts with their own close reasons, the server's
/// stop, a peer that restarts on the same address (RFC 6347 4.2.8), and the async API.
/// </summary>
public class DtlsSessionTests
{
    [Fact(Timeout = 60_000)]
    public async Task Close_sends_close_notify_and_the_peers_close_notify_closes_the_session()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var handler = new DtlsEchoHandler();
        await using SessionServer server = await SessionServer.StartAsync(DtlsServers.Options(), handler, cancellationToken: cancellationToken);
        using DtlsClient first = DtlsClient.Connect(server.LocalEndPoint, DtlsServers.PskClient());
        using DtlsClient second = DtlsClient.Connect(server.LocalEndPoint, DtlsServers.PskClient());
        DtlsClients.Echo(first, DtlsClients.Payload(1, 1));
        DtlsClients.Echo(second, DtlsClients.Payload(2, 1));

        // The application closes: the client learns it from close_notify.
        handler.Only(DtlsClients.LocalEndPoint(first)).Close();
        Assert.Equal(-1, first.Receive(new byte[100], DtlsClients.ReplyTimeout));
        Assert.True(first.PeerClosed);

        // The client closes: the session ends with DtlsCloseNotify and the server answers with its own.
        second.Close();
        Assert.Equal(-1, second.Receive(new byte[100], DtlsClients.ReplyTimeout));
        Assert.True(second.PeerClosed);

        await Eventually.TrueAsync(() => handler.Closed.Count == 2, () => $"{handler.Closed.Count} closed", cancellationToken: cancellationToken);
        Assert.Equal(SessionCloseReason.ClosedByApplication, handler.Closed.Single(c => c.Session.RemoteEndPoint.Equals(DtlsClients.LocalEndPoint(first))).Reason);
        Assert.Equal(SessionCloseReason.DtlsCloseNotify, handler.Closed.Single(c => c.Session.RemoteEndPoint.Equals(DtlsClients.LocalEndPoint(second))).Reason);
        DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
        Assert.Equal(2, stats.CloseNotifySent);
        Assert.Equal(1, stats.AlertRecords);
    }

    [Fact(Timeout = 60_000)]
    public async Task Records_after_a_close_notify_in_the_same_datagram_are_counted_and_not_delivered()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        await using OneClientServer setup = await OneClientServer.StartAsync(connectionId: false, cancellationToken);
        (SessionServer server, DtlsEchoHandler handler, DtlsClient client) = (setup.Server, setup.Handler, setup.Client);

        // One datagram: data, close_notify, data. The first is delivered, the last arrives after the close.
        byte[] first = DtlsClients.Seal(client, DtlsClients.Payload(1, 2));
        byte[] alert = new byte[client.SealedLength(2)];
        Assert.Equal(alert.Length, client.SealAlert(1, 0, alert)); // close_notify
        byte[] last = DtlsClients.Seal(client, DtlsClients.Payload(1, 3));
        DtlsClients.SendRaw(client, [.. first, .. alert, .. last]);

        await Eventually.TrueAsync(() => !handler.Closed.IsEmpty, () => "not closed", cancellationToken: cancellationToken);
        Assert.Equal(SessionCloseReason.DtlsCloseNotify, Assert.Single(handler.Closed).Reason);
        DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
        Assert.Equal(2, handler.Datagrams);
        Assert.Equal(1, stats.GetDropped(DtlsDropReason.UnexpectedRecord));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_fatal_alert_closes_the_session_with_its_own_reason()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        await using OneClientServer setup = await OneClientServer.StartAsync(connectionId: false, cancellationToken);
        (SessionServer server, DtlsEchoHandler handler, Session session) = (setup.Server, setup.Handler, setup.Session);

        setup.Client.SendAlert(2, 80); // fatal internal_error
        await Eventually.TrueAsync(() => !handler.Closed.IsEmpty, () => "not closed", cancellationToken: cancellationToken);
        Assert.Equal(SessionCloseReason.DtlsFatalAlert, Assert.Single(handler.Closed).Reason);
        Assert.Equal((byte)80, session.Dtls!.ReceivedAlert);
        await DtlsServers.AccountedAsync(server);
    }

    [Fact(Timeout = 60_000)]
    public async Task Stopping_the_server_sends_close_notify_to_every_established_peer()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var handler = new DtlsEchoHandler();
        SessionServer server = await SessionServer.StartAsync(DtlsServers.Options(), handler, cancellationToken: cancellationToken);
        DtlsClient[] clients = DtlsClients.Connect(server.LocalEndPoint, 4, _ => DtlsServers.PskClient(), 4, cancellationToken);
        try
        {
            foreach (DtlsClient client in clients)
            {
                DtlsClients.Echo(client, DtlsClients.Payload(1, 1));
            }

            await server.StopAsync(cancellationToken);
            foreach (DtlsClient client in clients)
            {
                Assert.Equal(-1, client.Receive(new byte[100], DtlsClients.ReplyTimeout));
                Assert.True(client.PeerClosed);
            }

            Assert.All(handler.Closed, c => Assert.Equal(SessionCloseReason.ServerShutdown, c.Reason));
            Assert.Equal(4, server.GetDtlsStatistics()!.CloseNotifySent);
        }
        finally
        {
            DtlsClients.DisposeAll(clients);
            await server.DisposeAsync();
        }
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_peer_that_restarts_on_the_same_address_gets_a_new_session(TestEngine engine)
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var handler = new DtlsEchoHandler();
        await using SessionServer server = await SessionServer.StartAsync(DtlsServers.Options(engine), handler, cancellationToken: cancellationToken);
        DtlsClient before = DtlsClient.Connect(server.LocalEndPoint, DtlsServers.PskClient());
        IPEndPoint address = DtlsClients.LocalEndPoint(before);
        DtlsClients.Echo(before, DtlsClients.Payload(1, 1));
        before.Dispose(); // a crash: no close_notify, the server's session lives on

        // The same address and port, a new handshake from epoch 0.
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(address);
        socket.Connect(server.LocalEndPoint);
        using DtlsClient after = DtlsClient.Connect(socket, DtlsServers.PskClient());
        DtlsClients.Echo(after, DtlsClients.Payload(2, 1));

        await Eventually.TrueAsync(() => handler.Accepted.Count == 2 && handler.Closed.Count == 1, () => $"{handler.Accepted.Count} accepted, {handler.Closed.Count} closed",
            cancellationToken: cancellationToken);
        (Session old, SessionCloseReason reason) = Assert.Single(handler.Closed);
        Assert.Equal(SessionCloseReason.DtlsPeerRestarted, reason);
        Session current = handler.Accepted.Single(s => s != old);
        Assert.True(current.IsOpen);
        Assert.Equal(address, current.RemoteEndPoint);
        DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
        Assert.Equal(1, stats.PeerRestarts);
        Assert.Equal(2, stats.HandshakesCompleted);
        Assert.Equal(2, stats.RecordsDelivered);
        DtlsServers.DropsExactly(stats, (DtlsDropReason.CookieMissing, 2)); // the new ClientHello was answered by the old session
        Assert.Equal(2, server.GetStatistics().SessionsAccepted);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task The_async_API_works_the_same_over_DTLS(TestEngine engine)
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        await using SessionServer server = await SessionServer.StartAsync(DtlsServers.Options(engine), cancellationToken: cancellationToken);
        var closed = new ConcurrentQueue<SessionCloseReason>();
        Task serving = Task.Run(async () =>
        {
            await foreach (Session session in server.AcceptAllAsync(cancellationToken))
            {
                Assert.NotNull(session.Dtls);
                _ = Task.Run(async () =>
                {
                    byte[] buffer = new byte[server.Options.MaxDatagramSize];
                    try
                    {
                        while (true)
                        {
                            int length = await session.ReceiveAsync(buffer, cancellationToken);
                            await session.SendAsync(buffer.AsMemory(0, length), cancellationToken);
                        }
                    }
                    catch (SessionClosedException e)
                    {
                        closed.Enqueue(e.Reason);
                    }
                }, cancellationToken);
            }
        }, cancellationToken);

        DtlsClient[] clients = DtlsClients.Connect(server.LocalEndPoint, 3, _ => DtlsServers.PskClient(), 3, cancellationToken);
        try
        {
            for (int round = 0; round < 10; round++)
            {
                for (int i = 0; i < clients.Length; i++)
                {
                    DtlsClients.Echo(clients[i], DtlsClients.Payload(i, round));
                }
            }

            foreach (DtlsClient client in clients)
            {
                client.Close();
            }

            await Eventually.TrueAsync(() => closed.Count == 3, () => $"{closed.Count} closed", cancellationToken: cancellationToken);
            Assert.All(closed, reason => Assert.Equal(SessionCloseReason.DtlsCloseNotify, reason));
            DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
            Assert.Equal(30, stats.RecordsDelivered);
            Assert.Equal(30, stats.RecordsSent);
        }
        finally
        {
            DtlsClients.DisposeAll(clients);
        }

        await server.StopAsync(cancellationToken);
        await serving.WaitAsync(cancellationToken);
    }
}
