using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using UdpSessions.Tests.Forwarding;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Hosting;

/// <summary>AddUdpForwarder in a real generic host: verified traffic to an upstream, the forwarder's metrics, bad options, stop.</summary>
public class ForwarderHostingTests
{
    private static IHost BuildHost(Action<UdpForwarderOptions> configure) => TestHosts.Build([], (services, _) => services.AddUdpForwarder(configure));

    [Fact(Timeout = 30_000)]
    public async Task A_hosted_forwarder_forwards_real_datagrams_and_publishes_its_metrics()
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        await using TestUpstream upstream = await TestUpstream.StartAsync("echo", timeout.Token);
        using IHost host = BuildHost(options =>
        {
            options.Server.EndPoint = new IPEndPoint(IPAddress.Loopback, 0);
            options.Upstreams.Add(new UpstreamOptions(upstream.EndPoint));
        });
        await host.StartAsync(timeout.Token);
        UdpForwarder forwarder = host.Services.GetRequiredService<UdpForwarder>();
        using var forwarded = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), UdpSessionsMetrics.MeterName, "udpsessions.forward.datagrams");

        using var clients = new ClientGroup(forwarder.LocalEndPoint, 3) { Diagnostics = () => Forwarders.Describe(forwarder, upstream) };
        int sent = await Task.Run(() => clients.EchoRounds(0, 4, batchSize: 3, timeout.Token), timeout.Token);
        await Forwarders.AccountedAsync(forwarder, sent);

        forwarded.RecordObservableInstruments();
        IReadOnlyList<CollectedMeasurement<long>> measurements = forwarded.GetMeasurementSnapshot();
        Assert.Contains(measurements, m => (string?)m.Tags["udpsessions.forward.direction"] == "to_upstream" && m.Value == sent);
        Assert.Contains(measurements, m => (string?)m.Tags["udpsessions.forward.direction"] == "to_client" && m.Value == sent);
        Assert.Equal(3, upstream.DatagramsByClient.Count);

        await host.StopAsync(timeout.Token);
        Assert.Equal(3, forwarder.GetStatistics().UpstreamSessionsClosed);
        Assert.Equal(0, forwarder.GetStatistics().Server.ActiveSessions);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_forwarder_without_upstreams_stops_the_host_from_starting()
    {
        using IHost host = BuildHost(options => options.Server.EndPoint = new IPEndPoint(IPAddress.Loopback, 0));
        ArgumentException error = await Assert.ThrowsAnyAsync<ArgumentException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Equal(nameof(UdpForwarderOptions.Upstreams), error.ParamName);
    }
}
