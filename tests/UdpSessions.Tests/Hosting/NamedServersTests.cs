using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using UdpSessions.Hosting;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Hosting;

/// <summary>
/// Several servers in one host: named registrations with their own handlers and sections, duplicates refused,
/// host names resolved, unknown keys reported, listeners told apart in the metrics.
/// </summary>
public class NamedServersTests
{
    [Fact(Timeout = 30_000)]
    public async Task Two_named_servers_run_their_own_handlers_with_their_own_sections()
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        using IHost host = TestHosts.Build(
            new()
            {
                ["Game:Address"] = "127.0.0.1", ["Game:IoThreads"] = "2", ["Game:MaxDatagramSize"] = "1200",
                ["Admin:Address"] = "127.0.0.1", ["Admin:IoThreads"] = "1", ["Admin:Engine"] = "Portable",
            },
            (services, configuration) => services
                .AddUdpSessions<GameHandler>("game", configuration.GetSection("Game"))
                .AddUdpSessions<AdminHandler>("admin", configuration.GetSection("Admin")));
        await host.StartAsync(timeout.Token);

        UdpSessionsServers servers = host.Services.GetRequiredService<UdpSessionsServers>();
        Assert.Equal(["game", "admin"], servers.Names);
        SessionServer game = host.Services.GetRequiredKeyedService<SessionServer>("game");
        SessionServer admin = host.Services.GetRequiredKeyedService<SessionServer>("admin");
        Assert.Same(servers.Get("game"), game);
        Assert.Same(servers.Get("admin"), admin);
        Assert.Equal(1_200, game.Options.MaxDatagramSize);
        Assert.Equal(EngineKind.Portable, admin.Engine);
        Assert.Null(host.Services.GetService<SessionServer>()); // no unnamed server was registered
        Assert.Throws<KeyNotFoundException>(() => servers.Main);

        Assert.Equal("game:hi"u8.ToArray(), await RoundTripAsync(game.LocalEndPoint, "hi"u8.ToArray(), timeout.Token));
        Assert.Equal("admin:hi"u8.ToArray(), await RoundTripAsync(admin.LocalEndPoint, "hi"u8.ToArray(), timeout.Token));
        Assert.Equal(1, game.GetStatistics().SessionsAccepted);
        Assert.Equal(1, admin.GetStatistics().SessionsAccepted);

        // Both in the metrics, told apart by their port.
        using var accepted = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), UdpSessionsMetrics.MeterName, "udpsessions.sessions.accepted");
        accepted.RecordObservableInstruments();
        Assert.Equal(2, accepted.GetMeasurementSnapshot().Select(m => m.Tags["server.port"]).Distinct().Count());
        await host.StopAsync(timeout.Token);
    }

    [Fact]
    public void A_second_registration_of_the_same_server_fails_at_once()
    {
        var services = new ServiceCollection();
        services.AddUdpSessions<GameHandler>(options => options.Address = "127.0.0.1");
        InvalidOperationException unnamed = Assert.Throws<InvalidOperationException>(() => services.AddUdpSessions<AdminHandler>(options => options.Address = "127.0.0.1"));
        Assert.Contains("called twice for the unnamed UdpSessions server", unnamed.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => services.AddUdpSessions());

        services.AddUdpSessions<AdminHandler>("admin", options => options.Address = "127.0.0.1"); // a named one next to it is fine
        InvalidOperationException named = Assert.Throws<InvalidOperationException>(() => services.AddUdpSessions("admin", options => options.Address = "127.0.0.1"));
        Assert.Contains("'admin'", named.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => services.AddUdpSessions<GameHandler>("", options => options.Address = "127.0.0.1"));
    }

    [Fact(Timeout = 30_000)]
    public async Task Host_names_in_configuration_are_resolved()
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        using IHost host = TestHosts.Build(new() { ["UdpSessions:Address"] = "localhost", ["UdpSessions:IoThreads"] = "1" },
            (services, configuration) => services.AddUdpSessions<GameHandler>(configuration.GetSection("UdpSessions")));
        await host.StartAsync(timeout.Token);
        SessionServer server = host.Services.GetRequiredService<SessionServer>();
        Assert.True(IPAddress.IsLoopback(server.LocalEndPoint.Address), $"localhost became {server.LocalEndPoint.Address}");
        Assert.Equal("game:x"u8.ToArray(), await RoundTripAsync(server.LocalEndPoint, "x"u8.ToArray(), timeout.Token));
        await host.StopAsync(timeout.Token);
    }

    [Fact(Timeout = 30_000)]
    public async Task Unknown_configuration_keys_fail_the_host_at_start_naming_each()
    {
        using IHost host = TestHosts.Build(
            new()
            {
                ["Game:Address"] = "127.0.0.1",
                ["Game:EndPoint"] = "127.0.0.1:9000",
                ["Game:IdelTimeout"] = "00:00:10",
                ["Game:Tcp:Framming"] = "Raw",
                ["Game:Listeners:v6:Adress"] = "::1",
                ["Game:IdleTimeout"] = "00:00:10",
                ["Game:Tcp:Framing"] = "Raw",
            },
            (services, configuration) => services.AddUdpSessions<GameHandler>("game", configuration.GetSection("Game")));
        OptionsValidationException failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains("UdpSessions 'game': unknown configuration key Game:EndPoint (the endpoint is given as Address and Port)", failure.Message, StringComparison.Ordinal);
        Assert.Contains("unknown configuration key Game:IdelTimeout.", failure.Message, StringComparison.Ordinal);
        Assert.Contains("unknown configuration key Game:Tcp:Framming.", failure.Message, StringComparison.Ordinal);
        Assert.Contains("unknown configuration key Game:Listeners:v6:Adress.", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Game:IdleTimeout", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Game:Tcp:Framing", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task IPv4_and_IPv6_listeners_on_one_port_have_their_own_metric_tags()
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        int port = TestHosts.FreePort((ProtocolType.Udp, IPAddress.Loopback), (ProtocolType.Udp, IPAddress.IPv6Loopback));
        using IHost host = TestHosts.Build(
            new()
            {
                ["UdpSessions:Address"] = "127.0.0.1",
                ["UdpSessions:Port"] = port.ToString(CultureInfo.InvariantCulture),
                ["UdpSessions:IoThreads"] = "1",
                ["UdpSessions:Listeners:v6:Address"] = "::1",
            },
            (services, configuration) => services.AddUdpSessions<GameHandler>(configuration.GetSection("UdpSessions")));
        await host.StartAsync(timeout.Token);
        UdpSessionsServers servers = host.Services.GetRequiredService<UdpSessionsServers>();
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, port), servers.Get("", "v6").LocalEndPoint);
        await RoundTripAsync(new IPEndPoint(IPAddress.Loopback, port), [1], timeout.Token);
        await RoundTripAsync(new IPEndPoint(IPAddress.IPv6Loopback, port), [2], timeout.Token);
        await RoundTripAsync(new IPEndPoint(IPAddress.IPv6Loopback, port), [3], timeout.Token);

        using var received = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), UdpSessionsMetrics.MeterName, "udpsessions.datagrams.received");
        received.RecordObservableInstruments();
        IReadOnlyList<CollectedMeasurement<long>> both = received.GetMeasurementSnapshot();
        Assert.All(both, m => Assert.Equal(port, m.Tags["server.port"]));
        Assert.Equal(1, both.Single(m => (string?)m.Tags["server.address"] == "127.0.0.1").Value);
        Assert.Equal(2, both.Single(m => (string?)m.Tags["server.address"] == "::1").Value);
        await host.StopAsync(timeout.Token);
    }

    private static async Task<byte[]> RoundTripAsync(IPEndPoint server, byte[] datagram, CancellationToken cancellationToken)
    {
        using var client = new UdpClient(server.AddressFamily);
        client.Connect(server);
        await client.SendAsync(datagram, cancellationToken);
        return (await client.ReceiveAsync(cancellationToken)).Buffer;
    }

    /// <summary>Answers "game:" and the datagram.</summary>
    public sealed class GameHandler : SessionHandler
    {
        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) => session.Send([.. "game:"u8, .. datagram]);
    }

    /// <summary>Answers "admin:" and the datagram.</summary>
    public sealed class AdminHandler : SessionHandler
    {
        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) => session.Send([.. "admin:"u8, .. datagram]);
    }
}
