using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.RegularExpressions;
using UdpSessions.Cli.Echo;
using UdpSessions.Dtls;

namespace UdpSessions.Cli.Tests;

/// <summary><c>udps echo --dtls</c> and <c>udps load --dtls</c> as users run them, in PSK and certificate mode.</summary>
public partial class DtlsCommandTests
{
    private const string Psk = "client1:00112233445566778899aabbccddeeff";
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 90_000)]
    public async Task Echo_with_a_PSK_serves_load_with_the_same_PSK_and_reports_its_handshakes()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        using UdpsProcess echo = UdpsProcess.Start("echo", "--host", "127.0.0.1", "--port", "0", "--dtls", "--psk", Psk, "--quiet");
        int port = await ListeningPortAsync(echo, cancellationToken);

        (int exit, UdpsProcess load) = await UdpsProcess.RunAsync(ProcessTimeout, cancellationToken,
            "load", "--port", port.ToString(CultureInfo.InvariantCulture), "--dtls", "--psk", Psk, "--sessions", "8", "--window", "2",
            "--warmup", "0.2", "--duration", "1", "--json", "--server-pid", echo.Id.ToString(CultureInfo.InvariantCulture));
        using (load)
        {
            Assert.True(exit == 0, load.ToString());
            using JsonDocument json = JsonDocument.Parse(load.StandardOutput);
            JsonElement root = json.RootElement;
            Assert.True(root.GetProperty("pass").GetBoolean());
            Assert.True(root.GetProperty("replies").GetInt64() > 0);
            Assert.Equal(0, root.GetProperty("integrityErrors").GetInt64());
            JsonElement handshakes = root.GetProperty("dtlsHandshakes");
            Assert.Equal(8, handshakes.GetProperty("count").GetInt32());
            Assert.True(handshakes.GetProperty("perSecond").GetDouble() > 0);
        }

        echo.Interrupt();
        Assert.Equal(0, await echo.WaitAsync(ProcessTimeout, cancellationToken));
        Assert.Contains("dtls handshakes: started=8 completed=8 failed=0 timedOut=0", echo.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("CookieMissing=8", echo.StandardOutput, StringComparison.Ordinal);
    }

    [Fact(Timeout = 90_000)]
    public async Task Echo_with_a_PEM_certificate_serves_the_load_generator_in_certificate_mode()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        string directory = Directory.CreateTempSubdirectory("udps-dtls-").FullName;
        try
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using X509Certificate2 certificate = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256)
                .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            string certificatePath = Path.Combine(directory, "cert.pem"), keyPath = Path.Combine(directory, "key.pem");
            await File.WriteAllTextAsync(certificatePath, certificate.ExportCertificatePem(), cancellationToken);
            await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem(), cancellationToken);

            using UdpsProcess echo = UdpsProcess.Start("echo", "--host", "127.0.0.1", "--port", "0", "--dtls", "--cert", certificatePath, "--key", keyPath, "--quiet");
            int port = await ListeningPortAsync(echo, cancellationToken);
            (int exit, UdpsProcess load) = await UdpsProcess.RunAsync(ProcessTimeout, cancellationToken,
                "load", "--port", port.ToString(CultureInfo.InvariantCulture), "--dtls", "--dtls-suite", "EcdheEcdsaWithAes128GcmSha256",
                "--sessions", "4", "--warmup", "0.2", "--duration", "1", "--json");
            using (load)
            {
                Assert.True(exit == 0, load.ToString());
                using JsonDocument json = JsonDocument.Parse(load.StandardOutput);
                Assert.Equal(4, json.RootElement.GetProperty("dtlsHandshakes").GetProperty("count").GetInt32());
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task Load_with_the_wrong_PSK_fails_with_exit_code_2()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var options = new SessionServerOptions
        {
            EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            Dtls = new DtlsOptions { PskKeyProvider = id => id == "client1" ? Convert.FromHexString("00112233445566778899aabbccddeeff") : null },
        };
        await using SessionServer server = await SessionServer.StartAsync(options, new EchoHandler(), cancellationToken: cancellationToken);
        (int exit, UdpsProcess load) = await UdpsProcess.RunAsync(ProcessTimeout, cancellationToken,
            "load", "--port", server.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture), "--dtls", "--psk", "client1:ffff", "--sessions", "2");
        using (load)
        {
            Assert.True(exit == 2, load.ToString());
            Assert.Contains("DTLS handshake failed", load.StandardError, StringComparison.Ordinal);
        }
    }

    [Theory(Timeout = 90_000)]
    [InlineData("echo", "--port", "0", "--dtls")]
    [InlineData("echo", "--port", "0", "--dtls", "--psk", "no-colon")]
    [InlineData("echo", "--port", "0", "--dtls", "--psk", "id:xyz")]
    [InlineData("load", "--port", "9", "--dtls", "--dtls-suite", "Rc4WithMd5")]
    [InlineData("load", "--port", "9", "--dtls", "--churn", "4")]
    public async Task Bad_DTLS_options_are_usage_errors_with_exit_code_2(params string[] arguments)
    {
        (int exit, UdpsProcess run) = await UdpsProcess.RunAsync(ProcessTimeout, TestContext.Current.CancellationToken, arguments);
        using (run)
        {
            Assert.True(exit == 2, run.ToString());
        }
    }

    private static async Task<int> ListeningPortAsync(UdpsProcess echo, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (ListeningLine().Match(echo.StandardOutput) is { Success: true } match)
            {
                return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            }

            await Task.Delay(50, cancellationToken);
        }

        Assert.Fail($"udps echo did not start: {echo}");
        return 0;
    }

    [GeneratedRegex(@"listening on UDP [\d.]+:(\d+) \(.*DTLS\)")]
    private static partial Regex ListeningLine();
}
