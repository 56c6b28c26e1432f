using System.Collections.Concurrent;
using System.Text;
using UdpSessions.Dtls;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Dtls;

/// <summary>
/// Goodbyes over DTLS: the closing hook runs for the application's sessions and its sends are encrypted and delivered
/// while the keys still exist; a kick's goodbye (Close(reason, goodbye)) goes out before the close_notify.
/// </summary>
public class DtlsGoodbyeTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_kicked_peer_reads_its_goodbye_then_close_notify_and_an_idle_one_reads_the_closing_hooks_goodbye()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var handler = new GoodbyeHandler();
        SessionServerOptions options = DtlsServers.Options();
        options.IdleTimeout = TimeSpan.FromSeconds(1);
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: cancellationToken);
        using DtlsClient kicked = DtlsClient.Connect(server.LocalEndPoint, DtlsServers.PskClient());
        using DtlsClient idle = DtlsClient.Connect(server.LocalEndPoint, DtlsServers.PskClient());
        DtlsClients.Echo(kicked, DtlsClients.Payload(1, 0));
        DtlsClients.Echo(idle, DtlsClients.Payload(2, 0));

        Session kickedSession = handler.Accepted.Single(s => s.RemoteEndPoint.Equals(DtlsClients.LocalEndPoint(kicked)));
        kickedSession.Close("kicked", "you were kicked"u8);
        byte[] buffer = new byte[256];
        Assert.Equal("you were kicked", Encoding.ASCII.GetString(buffer, 0, kicked.Receive(buffer, DtlsClients.ReplyTimeout)));
        Assert.Equal(-1, kicked.Receive(buffer, DtlsClients.ReplyTimeout)); // then close_notify (the hook's own bye comes after it and is not read)
        Assert.True(kicked.PeerClosed);

        // The idle one gets the closing hook's goodbye, encrypted, when its idle timeout closes it.
        int length = idle.Receive(buffer, TimeSpan.FromSeconds(10));
        Assert.Equal("bye IdleTimeout", Encoding.ASCII.GetString(buffer, 0, Math.Max(0, length)));

        await Eventually.TrueAsync(() => handler.Closing.Count == 2, () => $"{handler.Closing.Count} closing hooks", cancellationToken: cancellationToken);
        Assert.All(handler.Closing, c => Assert.True(c.Sent, $"the goodbye of a {c.Reason} close was refused"));
        Assert.Equal(1, server.GetStatistics().ApplicationCloseReasons["kicked"]);
    }

    /// <summary>Echoes; every closing session sends "bye REASON".</summary>
    private sealed class GoodbyeHandler : SessionHandler
    {
        public ConcurrentQueue<Session> Accepted { get; } = new();

        public ConcurrentQueue<(SessionCloseReason Reason, bool Sent)> Closing { get; } = new();

        public override void OnSessionAccepted(Session session) => Accepted.Enqueue(session);

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) => session.Send(datagram);

        public override void OnSessionClosing(Session session, SessionCloseReason reason) =>
            Closing.Enqueue((reason, session.Send(Encoding.ASCII.GetBytes($"bye {reason}"))));
    }
}
