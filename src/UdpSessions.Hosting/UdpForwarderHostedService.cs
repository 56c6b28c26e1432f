using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace UdpSessions.Hosting;

/// <summary>Starts the forwarder with the host (its options are validated then) and stops it with the host.</summary>
internal sealed class UdpForwarderHostedService(IServiceProvider services, ILogger<UdpForwarderHostedService> logger) : IHostedService
{
    private UdpForwarder? _started;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        UdpForwarder forwarder = services.GetRequiredService<UdpForwarder>();
        Log.Starting(logger, SessionTransport.Udp, forwarder.Server.Options.EndPoint.ToString());
        await forwarder.StartAsync(cancellationToken).ConfigureAwait(false);
        _started = forwarder;
        if (services.GetService<IMeterFactory>() is { } meterFactory)
        {
            UdpSessionsMetrics.Publish(meterFactory, forwarder);
            Log.MetricsPublished(logger, UdpSessionsMetrics.MeterName);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_started is { } forwarder)
            {
                await forwarder.StopAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.StopTimedOut(logger);
        }
    }
}
