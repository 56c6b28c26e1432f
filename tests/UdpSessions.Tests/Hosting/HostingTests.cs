using System.Diagnostics.Metrics;
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

/// <summary>AddUdpSessions in a real generic host: configuration, DI handler, real traffic, metrics, validation, stop.</summary>
public class HostingTests
{
    [Fact(Timeout = 30_000)]
    public async Task A_host_configured_from_configuration_echoes_real_datagrams_and_publishes_metrics()
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        using IHost host = TestHosts.Build(
            new() { ["UdpSessions:Address"] = "127.0.0.1", ["UdpSessions:Port"] = "0", ["UdpSessions:IoThreads"] = "2", ["UdpSessions:IdleTimeout"] = "00:00:30" },
            (services, configuration) => services.AddUdpSessions<RecordingHandler>(configuration.GetSection(UdpSessionsOptions.SectionName)));
        await host.StartAsync(timeout.Token);
        SessionServer server = host.Services.GetRequiredService<SessionServer>();
        Assert.Equal(2, server.Options.IoThreads);
        Assert.Equal(TimeSpan.FromSeconds(30), server.Options.IdleTimeout);
        Assert.Equal(IPAddress.Loopback, server.LocalEndPoint.Address);

        var meterFactory = host.Services.GetRequiredService<IMeterFactory>();
        using var received = new MetricCollector<long>(meterFactory, UdpSessionsMetrics.MeterName, "udpsessions.datagrams.received");
        using var accepted = new MetricCollector<long>(meterFactory, UdpSessionsMetrics.MeterName, "udpsessions.sessions.accepted");
        using var active = new MetricCollector<long>(meterFactory, UdpSessionsMetrics.MeterName, "udpsessions.sessions.active");
        using var bytesSent = new MetricCollector<long>(meterFactory, UdpSessionsMetrics.MeterName, "udpsessions.bytes.sent");
        using var dropped = new MetricCollector<long>(meterFactory, UdpSessionsMetrics.MeterName, "udpsessions.datagrams.dropped");

        using var clients = new ClientGroup(server.LocalEndPoint, 3);
        int sent = await Task.Run(() => clients.EchoRounds(0, 4, batchSize: 3, timeout.Token), timeout.Token);
        Assert.Equal(12, sent);
        await ServerChecks.AccountedAsync(server, expectedReceived: 12);

        Assert.Equal(12, Observe(received));
        Assert.Equal(3, Observe(accepted));
        Assert.Equal(3, Observe(active));
        Assert.Equal(server.GetStatistics().BytesSent, Observe(bytesSent));
        Assert.True(server.GetStatistics().BytesSent > 0);
        received.RecordObservableInstruments();
        Assert.Equal("udp", received.LastMeasurement!.Tags["network.transport"]);
        Assert.Equal(server.LocalEndPoint.Port, received.LastMeasurement.Tags["server.port"]);
        dropped.RecordObservableInstruments();
        Assert.Contains(dropped.GetMeasurementSnapshot(), m => (string?)m.Tags["udpsessions.drop.cause"] == "session_limit" && m.Value == 0);

        await host.StopAsync(timeout.Token);
        using var closed = new MetricCollector<long>(meterFactory, UdpSessionsMetrics.MeterName, "udpsessions.sessions.closed");
        closed.RecordObservableInstruments();
        Assert.Contains(closed.GetMeasurementSnapshot(), m => (string?)m.Tags["udpsessions.close.reason"] == "server_shutdown" && m.Value == 3);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_TCP_server_with_its_framing_is_configured_from_configuration()
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        using IHost host = TestHosts.Build(
            new()
            {
                ["UdpSessions:Address"] = "127.0.0.1",
                ["UdpSessions:Transport"] = "Tcp",
                ["UdpSessions:Tcp:Framing"] = "LengthPrefix16",
                ["UdpSessions:Tcp:MaxFrameSize"] = "1000",
            },
            (services, configuration) => services.AddUdpSessions<RecordingHandler>(configuration.GetSection("UdpSessions")));
        await host.StartAsync(timeout.Token);
        SessionServer server = host.Services.GetRequiredService<SessionServer>();
        Assert.Equal(SessionTransport.Tcp, server.Transport);
        Assert.Equal(1000, server.Options.Tcp.MaxFrameSize);

        using TcpTestClient client = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix16, timeout.Token);
        await client.SendMessageAsync(new byte[] { 1, 2, 3 }, timeout.Token);
        Assert.Equal([1, 2, 3], await client.ReceiveMessageAsync(timeout.Token));

        using var sent = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), UdpSessionsMetrics.MeterName, "udpsessions.datagrams.sent");
        sent.RecordObservableInstruments();
        Assert.Equal(1, sent.LastMeasurement!.Value);
        Assert.Equal("tcp", sent.LastMeasurement.Tags["network.transport"]);
        await host.StopAsync(timeout.Token);
    }

    [Fact(Timeout = 30_000)]
    public async Task The_handler_comes_from_DI_with_its_dependencies_and_code_configuration_applies()
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        using IHost host = TestHosts.Build([], (services, _) =>
        {
            services.AddSingleton<Journal>();
            services.AddUdpSessions<JournalingHandler>(options =>
            {
                options.Address = "127.0.0.1";
                options.Server.MaxDatagramSize = 100;
            });
        });
        await host.StartAsync(timeout.Token);
        SessionServer server = host.Services.GetRequiredService<SessionServer>();
        Assert.Equal(100, server.Options.MaxDatagramSize);

        using var client = new UdpClient(AddressFamily.InterNetwork);
        client.Connect(server.LocalEndPoint);
        await client.SendAsync(new byte[] { 7 }, timeout.Token);
        await Eventually.TrueAsync(() => host.Services.GetRequiredService<Journal>().Datagrams == 1, () => "no datagram journaled", cancellationToken: timeout.Token);
        await host.StopAsync(timeout.Token);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_listener_serves_the_same_port_over_TCP_with_the_same_handler_and_both_are_measured()
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        int port = TestHosts.FreePort((ProtocolType.Tcp, IPAddress.Loopback), (ProtocolType.Udp, IPAddress.Loopback));
        using IHost host = TestHosts.Build(
            new()
            {
                ["UdpSessions:Address"] = "127.0.0.1",
                ["UdpSessions:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["UdpSessions:Listeners:tcp:Transport"] = "Tcp",
            },
            (services, configuration) => services.AddUdpSessions<RecordingHandler>(configuration.GetSection("UdpSessions")));
        await host.StartAsync(timeout.Token);
        UdpSessionsServers servers = host.Services.GetRequiredService<UdpSessionsServers>();
        Assert.Equal(2, servers.Count);
        Assert.Same(servers.Main, host.Services.GetRequiredService<SessionServer>());
        Assert.Equal(SessionTransport.Udp, servers.Main.Transport);
        Assert.Equal(SessionTransport.Tcp, servers.Get("", "tcp").Transport);
        Assert.Equal(port, servers.Main.LocalEndPoint.Port);
        Assert.Equal(port, servers.Get("", "tcp").LocalEndPoint.Port);

        using (var udp = new UdpClient(AddressFamily.InterNetwork))
        {
            udp.Connect(IPAddress.Loopback, port);
            await udp.SendAsync(new byte[] { 1, 2 }, timeout.Token);
            Assert.Equal([1, 2], (await udp.ReceiveAsync(timeout.Token)).Buffer);
        }

        using (TcpTestClient tcp = await TcpTestClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TcpFraming.LengthPrefix32, timeout.Token))
        {
            await tcp.SendMessageAsync(new byte[] { 3, 4, 5 }, timeout.Token);
            Assert.Equal([3, 4, 5], await tcp.ReceiveMessageAsync(timeout.Token));
        }

        var handler = (RecordingHandler)host.Services.GetRequiredService<SessionHandler>();
        Assert.Equal(2, handler.Sessions.Count);
        Assert.Equal([SessionTransport.Udp, SessionTransport.Tcp], handler.Sessions.Values.Select(r => r.Session.Transport).Order());

        using var received = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), UdpSessionsMetrics.MeterName, "udpsessions.bytes.received");
        received.RecordObservableInstruments();
        IReadOnlyList<CollectedMeasurement<long>> both = received.GetMeasurementSnapshot();
        Assert.Equal(2, both.Single(m => (string?)m.Tags["network.transport"] == "udp").Value);
        Assert.Equal(3, both.Single(m => (string?)m.Tags["network.transport"] == "tcp").Value);
        await host.StopAsync(timeout.Token);
    }

    [Fact(Timeout = 30_000)]
    public async Task An_invalid_listener_fails_the_host_at_start_naming_the_listener()
    {
        using IHost host = TestHosts.Build(
            new() { ["UdpSessions:Address"] = "127.0.0.1", ["UdpSessions:Listeners:stream:Transport"] = "Tcp", ["UdpSessions:Listeners:stream:Tcp:SendQueueLimit"] = "0" },
            (services, configuration) => services.AddUdpSessions<RecordingHandler>(configuration.GetSection("UdpSessions")));
        OptionsValidationException failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains("Listeners:stream: Tcp.SendQueueLimit must be at least 1", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Without_a_handler_the_async_API_is_served_through_the_injected_server()
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        using IHost host = TestHosts.Build([], (services, _) => services.AddUdpSessions(options => options.Address = "127.0.0.1"));
        await host.StartAsync(timeout.Token);
        SessionServer server = host.Services.GetRequiredService<SessionServer>();

        using var client = new UdpClient(AddressFamily.InterNetwork);
        client.Connect(server.LocalEndPoint);
        await client.SendAsync(new byte[] { 4, 2 }, timeout.Token);
        Session session = await server.AcceptAsync(timeout.Token);
        byte[] buffer = new byte[16];
        Assert.Equal(2, await session.ReceiveAsync(buffer, timeout.Token));
        await session.SendAsync(buffer.AsMemory(0, 2), timeout.Token);
        Assert.Equal([4, 2], (await client.ReceiveAsync(timeout.Token)).Buffer);
        await host.StopAsync(timeout.Token);
        await Assert.ThrowsAsync<SessionClosedException>(async () => await session.ReceiveAsync(buffer, timeout.Token));
    }

    [Theory(Timeout = 30_000)]
    [InlineData("IoThreads", "0", "IoThreads must be between 1 and 1024")]
    [InlineData("Address", "not-an-address.invalid", "Address 'not-an-address.invalid' is neither an IPv4 or IPv6 address nor a host name that resolves")]
    [InlineData("Tcp:MaxFrameSize", "0", "Tcp.MaxFrameSize must be between 1")]
    [InlineData("Port", "70000", "Port 70000 is not between 0 and 65535")]
    public async Task Invalid_configuration_fails_the_host_at_start_with_a_clear_message(string key, string value, string expected)
    {
        using IHost host = TestHosts.Build(
            new() { ["UdpSessions:Address"] = "127.0.0.1", [$"UdpSessions:{key}"] = value },
            (services, configuration) => services.AddUdpSessions<RecordingHandler>(configuration.GetSection("UdpSessions")));
        OptionsValidationException failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Stopping_the_host_releases_the_port()
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        using IHost host = TestHosts.Build([], (services, _) => services.AddUdpSessions<RecordingHandler>(options => options.Address = "127.0.0.1"));
        await host.StartAsync(timeout.Token);
        IPEndPoint bound = host.Services.GetRequiredService<SessionServer>().LocalEndPoint;

        // While the server runs the port is taken (no SO_REUSEADDR here) ...
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            Assert.Throws<SocketException>(() => probe.Bind(bound));
        }

        await host.StopAsync(timeout.Token);

        // ... and free once the host stopped.
        using var after = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        after.Bind(bound);
        Assert.Equal(bound, after.LocalEndPoint);
    }

    private static long Observe(MetricCollector<long> collector)
    {
        collector.RecordObservableInstruments();
        return collector.LastMeasurement!.Value;
    }

    public sealed class Journal
    {
        private int _datagrams;

        public int Datagrams => Volatile.Read(ref _datagrams);

        public void Add() => Interlocked.Increment(ref _datagrams);
    }

    public sealed class JournalingHandler(Journal journal) : SessionHandler
    {
        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) => journal.Add();
    }
}
