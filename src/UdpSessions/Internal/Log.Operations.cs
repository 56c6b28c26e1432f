using System.Net;
using Microsoft.Extensions.Logging;

namespace UdpSessions.Internal;

/// <summary>Log lines of draining, handing over and taking over listeners (docs/operations.md).</summary>
internal static partial class Log
{
    [LoggerMessage(140, LogLevel.Information, "{EndPoint}: draining ({How}); sessions on the listeners {Kept} get sockets of their own")]
    private static partial void DrainStartedCore(ILogger logger, IPEndPoint endPoint, string how, string kept);

    public static void DrainStarted(ILogger logger, IPEndPoint endPoint, string how, bool canKeep) =>
        DrainStartedCore(logger, endPoint, how, canKeep ? "will" : "cannot (they are closed when the listeners go)");

    [LoggerMessage(141, LogLevel.Information, "{EndPoint}: listeners let go; {Kept} sessions kept on sockets of their own, {NotKept} not kept ({Why}), {HandedOver} new peers' datagrams handed over")]
    public static partial void ListenersLetGo(ILogger logger, IPEndPoint endPoint, long kept, long notKept, long handedOver, string why);

    [LoggerMessage(142, LogLevel.Information, "{EndPoint}: sessions on the listeners only ({Reason})")]
    public static partial void NoSessionSockets(ILogger logger, IPEndPoint endPoint, string reason);

    [LoggerMessage(143, LogLevel.Information, "{EndPoint}: drained in {Milliseconds} ms, {Left} sessions still open at the end")]
    public static partial void Drained(ILogger logger, IPEndPoint endPoint, long milliseconds, int left);

    [LoggerMessage(144, LogLevel.Information, "Took over {Listeners} listener(s) of {EndPoint} and {Datagrams} datagram(s) from the process on {Path}")]
    public static partial void TookOver(ILogger logger, int listeners, IPEndPoint endPoint, int datagrams, string path);

    [LoggerMessage(145, LogLevel.Warning, "Handing the listeners over on {Path} failed; they are served here again")]
    public static partial void HandoverFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(146, LogLevel.Information, "Waiting for a successor on {Path}")]
    public static partial void AwaitingSuccessor(ILogger logger, string path);
}
