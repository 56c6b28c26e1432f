using Microsoft.Extensions.Options;
using UdpSessions;
using UdpSessions.Hosting;

namespace TelemetryCollector;

/// <summary>Logs the collected metrics and every server's session counts every <see cref="CollectorOptions.ReportInterval"/>.</summary>
public sealed partial class SummaryReporter(ReadingStore store, UdpSessionsServers servers, IOptions<CollectorOptions> options, ILogger<SummaryReporter> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReportInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (SessionServer server in servers)
                {
                    ServerStatistics stats = server.GetStatistics();
                    LogSessions(logger, server.Transport, server.LocalEndPoint.ToString(), stats.ActiveSessions, stats.DatagramsReceived);
                }

                LogRejected(logger, store.Rejected);
                foreach ((string metric, long count, double mean, double min, double max) in store.Snapshot())
                {
                    LogMetric(logger, metric, count, mean, min, max);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(1, LogLevel.Information, "{Transport} {EndPoint}: {Sessions} sensors connected, {Readings} readings")]
    private static partial void LogSessions(ILogger logger, SessionTransport transport, string endPoint, int sessions, long readings);

    [LoggerMessage(3, LogLevel.Information, "{Rejected} readings rejected")]
    private static partial void LogRejected(ILogger logger, long rejected);

    [LoggerMessage(2, LogLevel.Information, "{Metric}: n={Count} mean={Mean:F3} min={Min:F3} max={Max:F3}")]
    private static partial void LogMetric(ILogger logger, string metric, long count, double mean, double min, double max);
}
