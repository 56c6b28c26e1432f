using System.Net;
using Microsoft.Extensions.Logging;

namespace UdpSessions.Internal;

/// <summary>Every log line of the library. Nothing is logged per datagram.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "UdpSessions listening on {EndPoint} ({Engine}, {Threads} I/O threads, {Mode})")]
    public static partial void Started(ILogger logger, IPEndPoint endPoint, string engine, int threads, string mode);

    [LoggerMessage(2, LogLevel.Information, "UdpSessions on {EndPoint} stopped")]
    public static partial void Stopped(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(3, LogLevel.Error, "Handler {Callback} threw for session {SessionId} ({Remote}); the session is closed")]
    public static partial void HandlerFailed(ILogger logger, string callback, long sessionId, IPEndPoint remote, Exception exception);

    [LoggerMessage(4, LogLevel.Warning, "No socket for a new session (errno {Errno}); sessions are served through the listener until sockets are available again")]
    public static partial void SessionSocketUnavailable(ILogger logger, int errno);

    [LoggerMessage(5, LogLevel.Warning, "{Operation} failed with errno {Errno}")]
    public static partial void SocketError(ILogger logger, string operation, int errno);

    [LoggerMessage(7, LogLevel.Warning, "Linux {Kernel} scores every connected socket of a port for each datagram (fixed in 6.13); with many sessions consider SocketBudget = 0 (address map)")]
    public static partial void OldKernel(ILogger logger, Version kernel);

    [LoggerMessage(6, LogLevel.Error, "I/O loop {Loop} failed; its sessions are closed")]
    public static partial void LoopFailed(ILogger logger, int loop, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "Session {SessionId} ({Remote}) announced a {Length}-byte frame, over the maximum of {Max}; the session is closed")]
    public static partial void FrameTooLarge(ILogger logger, long sessionId, System.Net.IPEndPoint remote, long length, int max);

    [LoggerMessage(9, LogLevel.Warning, "accept on the TCP listener failed (errno {Errno}); accepting pauses for {PauseMilliseconds} ms")]
    public static partial void AcceptFailed(ILogger logger, int errno, int pauseMilliseconds);

    [LoggerMessage(10, LogLevel.Error, "The accept filter threw; the datagram is dropped as rejected (logged once, every failure is counted in HandlerErrors)")]
    public static partial void AcceptFilterFailed(ILogger logger, Exception exception);

    [LoggerMessage(11, LogLevel.Information, "{EndPoint}: sessions stay on the listeners (an IPv4 wildcard address cannot hand a session a socket of its own without risking a lost datagram); listen on a specific address or on [::] for that")]
    public static partial void NoSessionSocketsOnIPv4Wildcard(ILogger logger, IPEndPoint endPoint);
}
