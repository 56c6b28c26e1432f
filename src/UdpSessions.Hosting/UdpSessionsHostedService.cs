using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace UdpSessions.Hosting;

/// <summary>Starts the <see cref="SessionServer"/> with the host and stops it (every session closed, every socket released) with it.</summary>
internal sealed class UdpSessionsHostedService(IServiceProvider services, IOptions<UdpSessionsOptions> options, ILogger<UdpSessionsHostedService> logger)
    : IHostedService
{
    private SessionServer? _server;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        UdpSessionsOptions settings = options.Value;
        Log.Starting(logger, settings.Server.Transport, settings.Address, settings.Port);
        SessionServer server = services.GetRequiredService<SessionServer>();
        await server.StartAsync(cancellationToken).ConfigureAwait(false);
        _server = server;
        if (services.GetService<IMeterFactory>() is { } meterFactory)
        {
            UdpSessionsMetrics.Publish(meterFactory, server);
            Log.MetricsPublished(logger, UdpSessionsMetrics.MeterName);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is null)
        {
            return;
        }

        try
        {
            await _server.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.StopTimedOut(logger);
        }
    }
}
