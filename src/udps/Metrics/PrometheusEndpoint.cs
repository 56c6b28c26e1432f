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

    /// <summary>
    /// Starts serving <paramref name="servers"/>' metrics at <paramref name="address"/> when one was given
    /// (<paramref name="endpoint"/> stays null when not) and says where. False, after saying why on stderr, when the
    /// address cannot be served (taken, or not one this machine has).
    /// </summary>
    public static bool TryStart(MetricsEndpoint? address, IReadOnlyList<SessionServer> servers, string commandName, out PrometheusEndpoint? endpoint) =>
        TryStart(address, () => UdpSessionsMetrics.Publish(servers), commandName, out endpoint);

    /// <summary>As above, for the instruments <paramref name="publish"/> creates on the meter (a forwarder's).</summary>
    public static bool TryStart(MetricsEndpoint? address, Func<Meter> publish, string commandName, out PrometheusEndpoint? endpoint)
    {
        endpoint = null;
        if (address is null)
        {
            return true;
        }

        try
        {
            endpoint = Start(address, publish);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"{commandName}: cannot serve metrics on {address.ScrapeUrl}: {e.InnerException?.Message ?? e.Message}");
            return false;
        }

        Console.WriteLine($"{commandName}: Prometheus metrics on {address.ScrapeUrl}");
        return true;
    }

    /// <summary>Publishes the meter and starts listening; throws <see cref="InvalidOperationException"/> when the address cannot be bound.</summary>
    private static PrometheusEndpoint Start(MetricsEndpoint endpoint, Func<Meter> publish)
    {
        Meter meter = publish();
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
