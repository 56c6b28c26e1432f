using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace UdpSessions.Cli.Metrics;

/// <summary>
/// The servers' <c>UdpSessions</c> meter (<see cref="UdpSessionsMetrics"/>) served in Prometheus text format by
/// OpenTelemetry's exporter on its own HttpListener. Every value is read from the servers' counters when scraped.
/// </summary>
internal sealed class PrometheusEndpoint : IDisposable
{
    private readonly Meter _meter;
    private readonly MeterProvider _provider;

    private PrometheusEndpoint(Meter meter, MeterProvider provider) => (_meter, _provider) = (meter, provider);

    /// <summary>Publishes the meter and starts listening; throws <see cref="InvalidOperationException"/> when the address cannot be bound.</summary>
    public static PrometheusEndpoint Start(MetricsEndpoint endpoint, IReadOnlyList<SessionServer> servers)
    {
        Meter meter = UdpSessionsMetrics.Publish(servers);
        try
        {
            MeterProvider provider = Sdk.CreateMeterProviderBuilder()
                .AddMeter(UdpSessionsMetrics.MeterName)
                .AddPrometheusHttpListener(options =>
                {
                    options.Host = endpoint.Host;
                    options.Port = endpoint.Port;
                    options.ScrapeEndpointPath = endpoint.Path;
                    // Every scrape reads the counters afresh: a scraper (or a test) never sees a cached, older value.
                    options.ScrapeResponseCacheDurationMilliseconds = 0;
                })
                .Build();
            return new PrometheusEndpoint(meter, provider);
        }
        catch
        {
            meter.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _provider.Dispose();
        _meter.Dispose();
    }
}
