using System.Net;
using Microsoft.Extensions.Logging;

namespace UdpSessions.Forwarding;

/// <summary>Every log line of the forwarder. Nothing is logged per datagram; repeated failures once per episode.</summary>
internal static partial class ForwarderLog
{
    [LoggerMessage(101, LogLevel.Information, "UdpForwarder on {EndPoint} forwards to {Upstreams} ({Balancing})")]
    public static partial void Started(ILogger logger, IPEndPoint endPoint, string upstreams, UpstreamBalancing balancing);

    [LoggerMessage(102, LogLevel.Warning, "Upstream {Upstream} is unhealthy ({Cause}): it gets no new sessions and its sessions move with their next datagram")]
    public static partial void UpstreamUnhealthy(ILogger logger, string upstream, UpstreamHealthChange cause);

    [LoggerMessage(103, LogLevel.Information, "Upstream {Upstream} is healthy again ({Cause})")]
    public static partial void UpstreamHealthy(ILogger logger, string upstream, UpstreamHealthChange cause);

    [LoggerMessage(104, LogLevel.Warning, "No fd for an upstream socket (errno {Errno}): new sessions' datagrams are held up to {Wait} and dropped (counted) after that")]
    public static partial void NoUpstreamSocket(ILogger logger, int errno, TimeSpan wait);

    [LoggerMessage(105, LogLevel.Information, "Upstream sockets are available again")]
    public static partial void UpstreamSocketsAvailable(ILogger logger);

    [LoggerMessage(106, LogLevel.Warning, "Socket toward upstream {Upstream} failed (errno {Errno}); logged once until one succeeds")]
    public static partial void UpstreamSocketFailed(ILogger logger, string upstream, int errno);

    [LoggerMessage(107, LogLevel.Warning, "Send to upstream {Upstream} failed (errno {Errno}); logged once until one succeeds")]
    public static partial void UpstreamSendFailed(ILogger logger, string upstream, int errno);

    [LoggerMessage(108, LogLevel.Information, "Upstream {Upstream} added")]
    public static partial void UpstreamAdded(ILogger logger, string upstream);

    [LoggerMessage(109, LogLevel.Information, "Upstream {Upstream} removed: its sessions move with their next datagram")]
    public static partial void UpstreamRemoved(ILogger logger, string upstream);

    [LoggerMessage(110, LogLevel.Error, "Health probe of {Upstream} failed unexpectedly")]
    public static partial void ProbeFailed(ILogger logger, string upstream, Exception exception);
}
