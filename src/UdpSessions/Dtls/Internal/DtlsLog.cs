using System.Net;
using Microsoft.Extensions.Logging;
using UdpSessions.Dtls.Handshake;

namespace UdpSessions.Internal;

/// <summary>The DTLS layer's log lines (event ids from 100). Nothing is logged per record.</summary>
internal static partial class Log
{
    [LoggerMessage(100, LogLevel.Debug, "DTLS handshake with {Remote} ended: {Outcome} ({Reason})")]
    public static partial void HandshakeFailed(ILogger logger, IPEndPoint remote, HandshakeOutcome outcome, string? reason);

    [LoggerMessage(101, LogLevel.Information, "DTLS on: suites {Suites}, path MTU {PathMtu}, at most {MaxHandshakes} handshakes at once, connection IDs {ConnectionIds}")]
    public static partial void DtlsStarted(ILogger logger, string suites, int pathMtu, int maxHandshakes, bool connectionIds);
}
