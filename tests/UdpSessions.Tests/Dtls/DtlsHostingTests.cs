using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using UdpSessions.Dtls;
using UdpSessions.Hosting;

namespace UdpSessions.Tests.Dtls;

/// <summary>A DTLS server configured from the generic host's configuration: certificate from PEM files, path MTU.</summary>
public class DtlsHostingTests
{
    [Fact(Timeout = 60_000)]
    public async Task The_Dtls_section_of_the_configuration_makes_a_DTLS_server()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        string directory = Directory.CreateTempSubdirectory("udps-dtls-host-").FullName;
        try
        {
            (string certificate, string key) = TestCertificates.WritePem(TestCertificates.Ecdsa, directory);
            HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["UdpSessions:Address"] = "127.0.0.1",
                ["UdpSessions:Port"] = "0",
                ["UdpSessions:Dtls:CertificatePemFile"] = certificate,
                ["UdpSessions:Dtls:PrivateKeyPemFile"] = key,
                ["UdpSessions:Dtls:PathMtu"] = "1000",
            });
            builder.Services.AddMetrics();
            builder.Services.AddLogging();
            builder.Services.AddUdpSessions<DtlsEchoHandler>(builder.Configuration.GetSection(UdpSessionsOptions.SectionName));
            using IHost host = builder.Build();
            await host.StartAsync(cancellationToken);

            SessionServer server = host.Services.GetRequiredService<SessionServer>();
            Assert.Equal(1000, server.Options.Dtls!.PathMtu);
            using DtlsClient client = DtlsClient.Connect(server.LocalEndPoint, new DtlsClientOptions());
            Assert.Equal(DtlsCipherSuite.EcdheEcdsaWithAes128GcmSha256, client.CipherSuite);
            DtlsClients.Echo(client, DtlsClients.Payload(1, 1));
            await host.StopAsync(cancellationToken);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
