using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace UdpSessions.Hosting;

/// <summary>
/// Starts the servers with the host and stops them (every session closed, every socket released) with it. If one
/// fails to start, those already started are stopped before the error reaches the host. With
/// <see cref="UdpSessionsOptions.DrainOnStop"/> the host's stop drains them first. A server whose listeners a successor
/// process took (<see cref="SessionServerOptions.HandoverPath"/>) stops by itself once drained, and then stops the host:
/// the old process of a graceful restart exits.
/// </summary>
internal sealed class UdpSessionsHostedService(IServiceProvider services, IOptionsMonitor<UdpSessionsOptions> options, ILogger<UdpSessionsHostedService> logger) : IHostedService
{
    private readonly List<SessionServer> _started = [];
    private readonly List<SessionServer> _drainOnStop = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        UdpSessionsServers servers = services.GetRequiredService<UdpSessionsServers>();
        try
        {
            foreach ((string name, _, SessionServer server) in servers.Entries)
            {
                Log.Starting(logger, server.Transport, server.Options.EndPoint.ToString());
                await server.StartAsync(cancellationToken).ConfigureAwait(false);
                _started.Add(server);
                if (options.Get(name).DrainOnStop)
                {
                    _drainOnStop.Add(server);
                }
            }
        }
        catch
        {
            await StopServersAsync(CancellationToken.None).ConfigureAwait(false); // no drain: the host never ran
            throw;
        }

        if (services.GetService<IMeterFactory>() is { } meterFactory)
        {
            UdpSessionsMetrics.Publish(meterFactory, servers);
            Log.MetricsPublished(logger, UdpSessionsMetrics.MeterName);
        }

        if (services.GetService<IHostApplicationLifetime>() is { } lifetime)
        {
            foreach (SessionServer server in _started.Where(server => server.Options.HandoverPath is not null))
            {
                _ = server.Completion.ContinueWith(_ => StopWhenHandedOver(server, lifetime), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    private void StopWhenHandedOver(SessionServer server, IHostApplicationLifetime lifetime)
    {
        if (!lifetime.ApplicationStopping.IsCancellationRequested && server.IsDraining)
        {
            Log.HandedOver(logger, server.LocalEndPoint.ToString());
            lifetime.StopApplication();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_drainOnStop.Count > 0)
        {
            Log.Draining(logger, _drainOnStop.Count);
            try
            {
                await Task.WhenAll(_drainOnStop.Select(server => server.DrainAsync(server.Options.DrainTimeout, cancellationToken).AsTask())).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The host's shutdown timeout came first: the servers are stopped below all the same (sessions closed).
            }
        }

        await StopServersAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task StopServersAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_started.Select(server => server.StopAsync(cancellationToken).AsTask())).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.StopTimedOut(logger);
        }
    }
}
