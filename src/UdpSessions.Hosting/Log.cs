using Microsoft.Extensions.Logging;

namespace UdpSessions.Hosting;

/// <summary>The hosting package's log lines (the server itself logs through the same factory). Nothing per datagram.</summary>
internal static partial class Log
{
    [LoggerMessage(101, LogLevel.Debug, "Starting the UdpSessions {Transport} server on {EndPoint}")]
    public static partial void Starting(ILogger logger, SessionTransport transport, string endPoint);

    [LoggerMessage(102, LogLevel.Warning, "The UdpSessions server did not stop within the host's shutdown timeout")]
    public static partial void StopTimedOut(ILogger logger);

    [LoggerMessage(104, LogLevel.Information, "Draining {Count} UdpSessions server(s) before stopping")]
    public static partial void Draining(ILogger logger, int count);

    [LoggerMessage(105, LogLevel.Information, "The UdpSessions server on {EndPoint} handed its listeners to a successor and drained: stopping the host")]
    public static partial void HandedOver(ILogger logger, string endPoint);

    [LoggerMessage(103, LogLevel.Debug, "UdpSessions metrics published on meter {Meter}")]
    public static partial void MetricsPublished(ILogger logger, string meter);
}
