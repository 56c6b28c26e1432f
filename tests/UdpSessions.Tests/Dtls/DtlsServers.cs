using System.Collections.Concurrent;
using System.Net;
using System.Text;
using UdpSessions.Dtls;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Dtls;

/// <summary>DTLS servers for the tests: options with both credentials, and checks of the DTLS counters.</summary>
public static class DtlsServers
{
    public const string PskIdentity = "client1";

    /// <summary>The PSK of <see cref="PskIdentity"/> (printable, because coap-client takes its key as text).</summary>
    public static readonly byte[] PskKey = Encoding.ASCII.GetBytes("0123456789abcdef");

    public static string PskKeyHex => Convert.ToHexString(PskKey);

    /// <summary>Server options on 127.0.0.1 with the ECDSA certificate and the test PSK; adjust what a test needs.</summary>
    public static SessionServerOptions Options(TestEngine engine = TestEngine.EpollAdaptive, Action<DtlsOptions>? configure = null)
    {
        SessionServerOptions options = TestEngines.Options(engine);
        options.IdleTimeout = TimeSpan.FromSeconds(30);
        options.Dtls = new DtlsOptions
        {
            Certificate = TestCertificates.Ecdsa,
            PskKeyProvider = identity => identity == PskIdentity ? PskKey : null,
        };
        configure?.Invoke(options.Dtls);
        return options;
    }

    public static DtlsClientOptions PskClient(bool connectionId = false) =>
        new() { PskIdentity = PskIdentity, PskKey = PskKey, RequestConnectionId = connectionId };

    /// <summary>
    /// Waits until the server is quiet and every record the DTLS layer read is accounted for:
    /// received == delivered + handshake + alerts + dropped, with no handshake in progress. Returns that snapshot.
    /// </summary>
    public static async Task<DtlsStatistics> AccountedAsync(SessionServer server)
    {
        DtlsStatistics stats = server.GetDtlsStatistics()!;
        await Eventually.TrueAsync(
            () =>
            {
                stats = server.GetDtlsStatistics()!;
                return stats.HandshakesInProgress == 0
                    && stats.RecordsReceived == stats.RecordsDelivered + stats.HandshakeRecords + stats.AlertRecords + stats.RecordsDropped;
            },
            () => $"DTLS accounting: {stats}; engine: {server.GetStatistics()}");
        await ServerChecks.AccountedAsync(server);
        return stats;
    }

    /// <summary>Fails unless exactly the listed drop causes were counted, with those counts.</summary>
    public static void DropsExactly(DtlsStatistics stats, params (DtlsDropReason Reason, long Count)[] expected)
    {
        foreach (DtlsDropReason reason in Enum.GetValues<DtlsDropReason>())
        {
            long want = expected.Where(e => e.Reason == reason).Sum(e => e.Count);
            Expect.That(stats.GetDropped(reason) == want, () => $"expected {want} DTLS drops for {reason}, counted {stats.GetDropped(reason)}: {stats}");
        }
    }
}

/// <summary>A DTLS echo server on loopback with one PSK client whose first record has been echoed (the common start of a test).</summary>
public sealed class OneClientServer : IAsyncDisposable
{
    private OneClientServer(SessionServer server, DtlsEchoHandler handler, DtlsClient client)
    {
        Server = server;
        Handler = handler;
        Client = client;
    }

    public SessionServer Server { get; }

    public DtlsEchoHandler Handler { get; }

    public DtlsClient Client { get; }

    /// <summary>The server's session of <see cref="Client"/>.</summary>
    public Session Session => Handler.Only(DtlsClients.LocalEndPoint(Client));

    public static async Task<OneClientServer> StartAsync(bool connectionId, CancellationToken cancellationToken)
    {
        var handler = new DtlsEchoHandler();
        SessionServer server = await SessionServer.StartAsync(DtlsServers.Options(), handler, cancellationToken: cancellationToken);
        try
        {
            DtlsClient client = DtlsClient.Connect(server.LocalEndPoint, DtlsServers.PskClient(connectionId));
            DtlsClients.Echo(client, DtlsClients.Payload(1, 0));
            return new OneClientServer(server, handler, client);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}

/// <summary>An echo handler that records what the application saw: sessions accepted and closed, datagrams.</summary>
public sealed class DtlsEchoHandler : SessionHandler
{
    public ConcurrentQueue<Session> Accepted { get; } = new();

    public ConcurrentQueue<(Session Session, SessionCloseReason Reason)> Closed { get; } = new();

    public long Datagrams => Interlocked.Read(ref _datagrams);

    private long _datagrams;

    public override void OnSessionAccepted(Session session)
    {
        Assert.NotNull(session.Dtls); // the handshake completed before the application hears of the session
        Accepted.Enqueue(session);
    }

    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
    {
        Interlocked.Increment(ref _datagrams);
        session.Send(datagram);
    }

    public override void OnSessionClosed(Session session, SessionCloseReason reason) => Closed.Enqueue((session, reason));

    public Session Only(IPEndPoint remote) => Accepted.Single(s => s.RemoteEndPoint.Equals(remote));
}
