using UdpSessions.Dtls;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Dtls;

/// <summary>Many concurrent DTLS sessions, and what the record path allocates.</summary>
public class DtlsScaleTests
{
    [Fact(Timeout = 180_000)]
    public async Task A_thousand_concurrent_DTLS_sessions_echo_verified_data()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        const int Sessions = 1_000;
        const int Rounds = 3;
        var handler = new DtlsEchoHandler();
        SessionServerOptions options = DtlsServers.Options();
        options.IdleTimeout = TimeSpan.FromMinutes(2);
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: cancellationToken);
        DtlsClient[] clients = DtlsClients.Connect(server.LocalEndPoint, Sessions, _ => DtlsServers.PskClient(), 8, cancellationToken);
        try
        {
            // A client finishes when the server's Finished arrives; the server's I/O thread accepts the session just after.
            await Eventually.TrueAsync(() => handler.Accepted.Count == Sessions, () => $"{handler.Accepted.Count} accepted", cancellationToken: cancellationToken);
            Assert.Equal(Sessions, server.GetStatistics().ActiveSessions);
            for (int round = 0; round < Rounds; round++)
            {
                // Every session has a record in flight at once, then each reply is checked on its own socket.
                for (int i = 0; i < Sessions; i++)
                {
                    Assert.True(clients[i].Send(DtlsClients.Payload(i, round, 24 + (i % 200))));
                }

                for (int i = 0; i < Sessions; i++)
                {
                    DtlsClients.ExpectReply(clients[i], DtlsClients.Payload(i, round, 24 + (i % 200)));
                }
            }

            DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
            Assert.Equal(Sessions, stats.HandshakesCompleted);
            Assert.Equal(Sessions * Rounds, stats.RecordsDelivered);
            Assert.Equal(Sessions * Rounds, stats.RecordsSent);
            DtlsServers.DropsExactly(stats, (DtlsDropReason.CookieMissing, Sessions));
            Assert.Equal(Sessions, server.GetStatistics().ActiveSessions);
        }
        finally
        {
            DtlsClients.DisposeAll(clients);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(DtlsCipherSuite.EcdheEcdsaWithAes128GcmSha256)]
    [InlineData(DtlsCipherSuite.PskWithAes128GcmSha256)]
    [InlineData(DtlsCipherSuite.PskWithAes128Ccm8)]
    public async Task The_record_path_allocates_nothing_per_record_on_the_IO_thread(DtlsCipherSuite suite)
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        const int Warmup = 300, Measured = 2_000;
        var probe = new AllocationProbe(Warmup, Warmup + Measured);
        // A session of its own socket from the start: adaptive placement would promote it mid-run, which allocates.
        SessionServerOptions options = DtlsServers.Options(TestEngine.EpollOwnSocket, dtls => dtls.CipherSuites = [suite]);
        options.IoThreads = 1;
        await using SessionServer server = await SessionServer.StartAsync(options, probe, cancellationToken: cancellationToken);
        DtlsClientOptions clientOptions = suite == DtlsCipherSuite.EcdheEcdsaWithAes128GcmSha256 ? new DtlsClientOptions() : DtlsServers.PskClient();
        clientOptions.CipherSuites = [suite];
        using DtlsClient client = DtlsClient.Connect(server.LocalEndPoint, clientOptions);
        byte[] payload = new byte[1_000];
        for (int i = 0; i <= Warmup + Measured && !probe.Done; i++)
        {
            DtlsClients.Echo(client, payload);
        }

        Assert.True(probe.Done);
        // Decrypting each record, the handler's Send sealing its reply, and the engine around them, per record:
        Assert.True(probe.AllocatedBytes == 0, $"{probe.AllocatedBytes} bytes allocated on the I/O thread over {Measured} records");
    }
}
