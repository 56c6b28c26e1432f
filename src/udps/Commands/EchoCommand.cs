using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using UdpSessions.Cli.Echo;

namespace UdpSessions.Cli.Commands;

/// <summary><c>udps echo</c>: an echo server on the callback path that reports its rates every second.</summary>
internal static class EchoCommand
{
    public static Command Create()
    {
        Option<int> port = CliOptions.RequiredInt("--port", "UDP port to listen on (0 picks a free one).", 0, 65535);
        var host = new Option<string>("--host") { Description = "Address to listen on.", DefaultValueFactory = _ => "0.0.0.0" };
        host.Validators.Add(r =>
        {
            if (!IPAddress.TryParse(r.GetValueOrDefault<string>(), out _))
            {
                r.AddError("--host must be an IPv4 or IPv6 address.");
            }
        });
        var engine = new EngineOptions();
        var hardening = new HardeningOptions();
        Option<string> mode = CliOptions.Choice("--mode", "epoll registration: level (level-triggered) or oneshot (EPOLLET|EPOLLONESHOT).", "level", "level", "oneshot");
        var idle = new Option<double>("--idle-timeout-seconds")
        {
            Description = "Close sessions idle this long; 0 turns the timer off.",
            DefaultValueFactory = _ => 60,
        };
        idle.Validators.Add(r =>
        {
            double v = r.GetValueOrDefault<double>();
            if (v != 0 && v is < 0.01 or > 86_400)
            {
                r.AddError("--idle-timeout-seconds must be 0 or between 0.01 and 86400.");
            }
        });
        Option<int?> maxSessions = CliOptions.OptionalInt("--max-sessions", "Most sessions at once (default 100000).", 1, 1 << 24);
        Option<int?> maxDatagram = CliOptions.OptionalInt("--max-datagram-size", "Largest datagram accepted, in bytes (default 4096).", 1, 65_527);
        Option<int?> budget = CliOptions.OptionalInt("--socket-budget", "Most sessions with a socket of their own (default: no budget).", 0);

        var command = new Command("echo", "Run an echo server until Ctrl+C or SIGTERM, printing rates every second.");
        command.Options.Add(port);
        command.Options.Add(host);
        engine.AddTo(command);
        hardening.AddTo(command);
        command.Options.Add(mode);
        command.Options.Add(idle);
        command.Options.Add(maxSessions);
        command.Options.Add(maxDatagram);
        command.Options.Add(budget);

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = new SessionServerOptions
            {
                EndPoint = new IPEndPoint(IPAddress.Parse(parseResult.GetRequiredValue(host)), parseResult.GetValue(port)),
                EpollMode = parseResult.GetValue(mode) == "oneshot" ? EpollMode.EdgeTriggeredOneShot : EpollMode.LevelTriggered,
                IdleTimeout = parseResult.GetValue(idle) is var s && s == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(s),
                SocketBudget = parseResult.GetValue(budget),
            };
            engine.ApplyTo(parseResult, options);
            hardening.ApplyTo(parseResult, options);
            if (parseResult.GetValue(maxSessions) is int max)
            {
                options.MaxSessions = max;
            }

            if (parseResult.GetValue(maxDatagram) is int size)
            {
                options.MaxDatagramSize = size;
            }

            return await RunAsync(options, cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(SessionServerOptions options, CancellationToken invocationToken)
    {
        using var shutdown = new ShutdownSignal(invocationToken);
        SessionServer server;
        try
        {
            server = await SessionServer.StartAsync(options, new EchoHandler(), cancellationToken: shutdown.Token);
        }
        catch (Exception e) when (e is ArgumentException or PlatformNotSupportedException or IOException or System.Net.Sockets.SocketException)
        {
            await Console.Error.WriteLineAsync($"udps echo: cannot start: {e.Message}");
            return 2;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"udps echo: listening on {server.LocalEndPoint} ({server.EngineDescription}, {server.Options.IoThreads} I/O thread(s)); Ctrl+C to stop"));
        try
        {
            await ReportEverySecondAsync(server, shutdown.Token);
        }
        finally
        {
            // The shutdown token has fired by now; stopping must not be cancelled by it.
            await server.StopAsync(CancellationToken.None);
        }

        Console.WriteLine("udps echo: stopped");
        StatisticsReport.Write(Console.Out, server.GetStatistics());
        return 0;
    }

    private static async Task ReportEverySecondAsync(SessionServer server, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        ServerStatistics previous = server.GetStatistics();
        long previousTime = Stopwatch.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                ServerStatistics current = server.GetStatistics();
                long now = Stopwatch.GetTimestamp();
                // The managed heap goes on the line too, for soak runs that watch the server for growth (bench/soak).
                Console.WriteLine(RateLine.Format(previous, current, Stopwatch.GetElapsedTime(previousTime, now)) +
                    string.Create(CultureInfo.InvariantCulture, $" gcHeapKiB={GC.GetTotalMemory(forceFullCollection: false) / 1024} gcs={GC.CollectionCount(0)}"));
                (previous, previousTime) = (current, now);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
