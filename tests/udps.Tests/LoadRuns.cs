using System.Net;
using UdpSessions.Cli.Echo;
using UdpSessions.Cli.Load;

namespace UdpSessions.Cli.Tests;

/// <summary>Short, bounded load runs on loopback, and a correct echo server (UdpSessions) to run them against.</summary>
internal static class LoadRuns
{
    public static LoadClientOptions Options(IPEndPoint target) => new()
    {
        Target = target,
        Sessions = 8,
        Window = 2,
        DatagramSize = 64,
        WarmUp = TimeSpan.FromMilliseconds(200),
        Duration = TimeSpan.FromSeconds(1.5),
        ReplyTimeout = TimeSpan.FromMilliseconds(300),
        Threads = 2,
    };

    public static Task<LoadResult> RunAsync(LoadClientOptions options, CancellationToken cancellationToken) =>
        new LoadClient(options).RunAsync(cancellationToken);

    public static Task<SessionServer> StartCorrectEchoAsync(CancellationToken cancellationToken) =>
        SessionServer.StartAsync(
            new SessionServerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), SessionReceiveBufferSize = 1 << 20 },
            new EchoHandler(),
            cancellationToken: cancellationToken).AsTask();

    public static string Describe(LoadResult r) =>
        $"sent={r.Sent} replies={r.Replies} lost={r.Lost} late={r.Late} corrupt={r.Corrupt} misrouted={r.Misrouted} " +
        $"duplicates={r.Duplicates} sendErrors={r.SendErrors} receiveErrors={r.ReceiveErrors} opened={r.SessionsOpened} accepted={r.SessionsAccepted}";
}
