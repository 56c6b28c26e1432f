using System.Net;
using UdpSessions.Dtls;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Dtls;

/// <summary>
/// The DTLS server against real clients: OpenSSL's s_client, GnuTLS's gnutls-cli and libcoap's coap-client. Each
/// handshakes (the cookie exchange included), exchanges data, gets the right answer and closes with close_notify.
/// </summary>
public class DtlsInteropTests
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(15);

    [Theory(Timeout = 60_000)]
    [InlineData("ECDHE-ECDSA-AES128-GCM-SHA256", DtlsCipherSuite.EcdheEcdsaWithAes128GcmSha256, false)]
    [InlineData("PSK-AES128-CCM8", DtlsCipherSuite.PskWithAes128Ccm8, true)]
    public async Task OpenSsl_s_client_exchanges_data(string cipher, DtlsCipherSuite suite, bool psk)
    {
        var handler = new DtlsEchoHandler();
        await using SessionServer server = await SessionServer.StartAsync(DtlsServers.Options(), handler, cancellationToken: TestContext.Current.CancellationToken);
        List<string> arguments = ["s_client", "-dtls1_2", "-connect", $"127.0.0.1:{server.LocalEndPoint.Port}", "-quiet", "-no_ign_eof", "-cipher", cipher];
        if (psk)
        {
            arguments.AddRange(["-psk", DtlsServers.PskKeyHex, "-psk_identity", DtlsServers.PskIdentity]);
        }

        await ExchangeAsync(server, handler, ExternalProgram.Start("openssl", "openssl", [.. arguments]), "hello over openssl", suite, psk);
    }

    [Fact(Timeout = 60_000)]
    public async Task OpenSsl_s_client_with_an_RSA_certificate_reassembles_flights_fragmented_to_a_small_path_MTU()
    {
        var handler = new DtlsEchoHandler();
        SessionServerOptions options = DtlsServers.Options(configure: dtls =>
        {
            dtls.Certificate = TestCertificates.Rsa;
            dtls.PathMtu = 400; // the 2048-bit certificate message alone is about 800 bytes
        });
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: TestContext.Current.CancellationToken);
        ExternalProgram client = ExternalProgram.Start("openssl", "openssl", "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{server.LocalEndPoint.Port}",
            "-quiet", "-no_ign_eof", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256");
        await ExchangeAsync(server, handler, client, "fragmented hello", DtlsCipherSuite.EcdheRsaWithAes128GcmSha256, psk: false);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GnuTls_cli_exchanges_data(bool psk)
    {
        var handler = new DtlsEchoHandler();
        await using SessionServer server = await SessionServer.StartAsync(DtlsServers.Options(), handler, cancellationToken: TestContext.Current.CancellationToken);
        List<string> arguments = ["--udp", "-p", server.LocalEndPoint.Port.ToString(), "127.0.0.1"];
        arguments.AddRange(psk
            ? ["--pskusername", DtlsServers.PskIdentity, "--pskkey", DtlsServers.PskKeyHex,
               "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-CCM-8"]
            : ["--insecure", "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2"]);
        await ExchangeAsync(server, handler, ExternalProgram.Start("gnutls-cli", "gnutls-bin", [.. arguments]), "hello over gnutls",
            psk ? DtlsCipherSuite.PskWithAes128Ccm8 : DtlsCipherSuite.EcdheEcdsaWithAes128GcmSha256, psk);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("coap-client-openssl")]
    [InlineData("coap-client-gnutls")]
    public async Task Coap_client_gets_a_resource_over_coaps_with_PSK(string program)
    {
        var responder = new CoapResponder();
        await using SessionServer server = await SessionServer.StartAsync(DtlsServers.Options(), responder, cancellationToken: TestContext.Current.CancellationToken);
        using ExternalProgram client = ExternalProgram.Start(program, "libcoap3-bin", "-m", "get", "-u", DtlsServers.PskIdentity,
            "-k", System.Text.Encoding.ASCII.GetString(DtlsServers.PskKey), "-B", "10", $"coaps://127.0.0.1:{server.LocalEndPoint.Port}/sensors/temp");
        client.WaitForOutput(CoapResponder.Answer("sensors/temp"), ReplyTimeout);
        Assert.Equal(0, client.Finish(TimeSpan.FromSeconds(15)));

        DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
        Assert.Equal(1, stats.HandshakesCompleted);
        Assert.True(stats.RecordsDelivered >= 1, stats.ToString());
        Assert.Equal(1, responder.Requests);
    }

    private static async Task ExchangeAsync(SessionServer server, DtlsEchoHandler handler, ExternalProgram client, string line, DtlsCipherSuite suite, bool psk)
    {
        using (client)
        {
            client.WriteLine(line);
            client.WaitForOutput(line, ReplyTimeout); // the echo, decrypted by the client
            Assert.Equal(0, client.Finish(TimeSpan.FromSeconds(15)));
        }

        Session session = Assert.Single(handler.Accepted);
        Assert.Equal(suite, session.Dtls!.CipherSuite);
        Assert.Equal(psk ? DtlsServers.PskIdentity : null, session.Dtls.PskIdentity);
        await Eventually.TrueAsync(() => !handler.Closed.IsEmpty, () => "the client's close_notify did not close the session");
        Assert.Equal(SessionCloseReason.DtlsCloseNotify, Assert.Single(handler.Closed).Reason);

        DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
        Assert.Equal(1, stats.HandshakesCompleted);
        Assert.Equal(1, stats.HelloVerifyRequestsSent); // the cookie exchange ran
        Assert.Equal(handler.Datagrams, stats.RecordsDelivered);
        Assert.True(stats.RecordsDelivered >= 1 && stats.AlertRecords == 1, stats.ToString());
        DtlsServers.DropsExactly(stats, (DtlsDropReason.CookieMissing, 1));
    }
}
