using System.Globalization;
using System.Net;

namespace UdpSessions.Bench;

/// <summary>
/// Alternates undisturbed and flooded phases of equal length against one in-process server, with the same established
/// sessions throughout, and reports flooded / undisturbed throughput (target at least 0.9).
/// </summary>
internal static class FloodRun
{
    private const double Target = 0.9;

    public static async Task<int> ExecuteAsync(FloodSettings settings, CancellationToken cancellationToken)
    {
        var options = new SessionServerOptions
        {
            EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            Engine = settings.Portable ? EngineKind.Portable : EngineKind.Epoll,
            IdleTimeout = TimeSpan.FromSeconds(5),
            MaxNewSessionsPerSecond = settings.MaxNewSessionsPerSecond,
            AcceptFilter = settings.RequireCookie ? new CookieAcceptFilter(new StatelessCookie()) : null,
        };
        await using SessionServer server = await SessionServer.StartAsync(options, new EchoHandler(), cancellationToken: cancellationToken);
        var target = server.LocalEndPoint;
        using var steady = new SteadyClients(target, settings.Clients, settings.Window, 64);
        if (settings.RequireCookie)
        {
            steady.ForEachSocket(ProveAddress);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var steadyThread = new Thread(() => steady.Run(stop.Token)) { Name = "steady" };
        steadyThread.Start();
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken); // warm-up: sessions accepted, JIT done

        Console.WriteLine($"flood: server {server.EngineDescription} on {target}, {settings.Clients} established sessions x {settings.Window} in flight; " +
            $"flood {(settings.FloodRate > 0 ? $"{settings.FloodRate}/s" : "unpaced")}, new-session limit {settings.MaxNewSessionsPerSecond?.ToString(CultureInfo.InvariantCulture) ?? "none"}/s, cookie filter {(settings.RequireCookie ? "on" : "off")}");
        double quiet = 0, flooded = 0;
        long floodSent = 0;
        TimeSpan phase = TimeSpan.FromSeconds(settings.PhaseSeconds);
        for (int round = 1; round <= settings.Rounds; round++)
        {
            double a = await MeasureAsync(steady, phase, cancellationToken);
            using var flooder = new Flooder(target, settings.FloodRate, settings.SourceReuse);
            using var floodStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var floodThread = new Thread(() => flooder.Run(floodStop.Token)) { Name = "flood" };
            floodThread.Start();
            double b = await MeasureAsync(steady, phase, cancellationToken);
            await floodStop.CancelAsync();
            floodThread.Join();
            floodSent += flooder.Sent;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  round {round}: undisturbed {a:F0} replies/s, during flood {b:F0} replies/s ({b / a:F3}), flood {flooder.Sent / phase.TotalSeconds:F0} datagrams/s"));
            quiet += a;
            flooded += b;
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken); // let the flood's sessions and queues settle
        }

        await stop.CancelAsync();
        steadyThread.Join();
        ServerStatistics stats = server.GetStatistics();
        double ratio = flooded / quiet;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"flood: established throughput during the flood = {ratio:F3} of undisturbed ({flooded / settings.Rounds:F0} vs {quiet / settings.Rounds:F0} replies/s); target >= {Target}: {(ratio >= Target ? "met" : "NOT met")}"));
        Console.WriteLine($"flood: steady lost {steady.Lost}, misdelivered {steady.Wrong}; flood datagrams sent {floodSent}");
        Console.WriteLine($"flood: server {stats}; drops: {string.Join(' ', Enum.GetValues<DropReason>().Select(r => $"{r}={stats.GetDropped(r)}"))}; challenges sent {stats.ChallengesSent}");
        return steady.Wrong == 0 ? 0 : 1;
    }

    /// <summary>The cookie handshake of <see cref="CookieAcceptFilter"/>: hello, cookie back, the cookie in front of the first datagram.</summary>
    private static void ProveAddress(System.Net.Sockets.Socket socket)
    {
        byte[] buffer = new byte[256];
        socket.Send(new byte[48]);
        if (!socket.Poll(2_000_000, System.Net.Sockets.SelectMode.SelectRead) || socket.Receive(buffer) != StatelessCookie.Length)
        {
            throw new InvalidOperationException("no cookie came back");
        }

        byte[] proven = [.. buffer.AsSpan(0, StatelessCookie.Length), .. new byte[26]];
        socket.Send(proven);
        if (!socket.Poll(2_000_000, System.Net.Sockets.SelectMode.SelectRead) || socket.Receive(buffer) != proven.Length)
        {
            throw new InvalidOperationException("the proven first datagram was not echoed");
        }
    }

    private static async Task<double> MeasureAsync(SteadyClients steady, TimeSpan phase, CancellationToken cancellationToken)
    {
        long before = steady.Replies;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(phase, cancellationToken);
        return (steady.Replies - before) / clock.Elapsed.TotalSeconds;
    }
}
