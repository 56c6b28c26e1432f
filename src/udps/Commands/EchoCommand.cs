using System.CommandLine;
using System.Globalization;
using System.Net;
using UdpSessions.Cli.Echo;
using UdpSessions.Cli.Metrics;

namespace UdpSessions.Cli.Commands;

/// <summary><c>udps echo</c>: an echo server on the callback path that reports its rates every second.</summary>
internal static class EchoCommand
{
    public static Command Create()
    {
        Option<int> port = CliOptions.RequiredInt("--port", "Port to listen on (0 picks a free one).", 0, 65535);
        var tcp = new Option<bool>("--tcp") { Description = "Serve the same echo over TCP: one session per connection, messages framed by --framing." };
        Option<string> framing = CliOptions.Choice("--framing", "TCP framing: length32 or length16 (big-endian length prefix) or raw (each read echoed as is).",
            "length32", "length32", "length16", "raw");
        Option<int?> maxFrame = CliOptions.OptionalInt("--max-frame-size", "TCP: largest message in bytes (default 65535).", 1, 1 << 30);
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
        var dtls = new DtlsCliOptions();
        var metrics = new MetricsOption();
        var operations = new OperationsOptions();
        var tag = new Option<string?>("--tag") { Description = "Start every reply with this text, to tell which server process answered (handover and balancer tests)." };
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
        var statsFile = new Option<string?>("--stats-file")
        {
            Description = "Keep this file updated with the process's managed bytes allocated (for udps load --server-stats-file).",
        };
        var quiet = new Option<bool>("--quiet") { Description = "No per-second rate lines (they allocate; benchmarks measure allocation)." };
        Option<int?> budget = CliOptions.OptionalInt("--socket-budget", "Most sessions with a socket of their own (default: no budget).", 0);

        var command = new Command("echo", "Run an echo server (UDP, or TCP with --tcp) until Ctrl+C or SIGTERM, printing rates every second.");
        command.Options.Add(port);
        command.Options.Add(tcp);
        command.Options.Add(framing);
        command.Options.Add(maxFrame);
        command.Options.Add(host);
        engine.AddTo(command);
        hardening.AddTo(command);
        dtls.AddTo(command, server: true);
        command.Options.Add(mode);
        command.Options.Add(idle);
        command.Options.Add(maxSessions);
        command.Options.Add(maxDatagram);
        command.Options.Add(budget);
        command.Options.Add(statsFile);
        command.Options.Add(quiet);
        metrics.AddTo(command);
        operations.AddTo(command);
        command.Options.Add(tag);

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
            if (parseResult.GetValue(tcp))
            {
                options.Transport = SessionTransport.Tcp;
                options.Tcp.Framing = parseResult.GetValue(framing) switch
                {
                    "length16" => TcpFraming.LengthPrefix16,
                    "raw" => TcpFraming.Raw,
                    _ => TcpFraming.LengthPrefix32,
                };
                if (parseResult.GetValue(maxFrame) is int frame)
                {
                    options.Tcp.MaxFrameSize = frame;
                }
            }

            hardening.ApplyTo(parseResult, options);
            operations.ApplyTo(parseResult, options);
            dtls.ApplyTo(parseResult, options);
            if (parseResult.GetValue(maxSessions) is int max)
            {
                options.MaxSessions = max;
            }

            if (parseResult.GetValue(maxDatagram) is int size)
            {
                options.MaxDatagramSize = size;
            }

            byte[]? replyTag = parseResult.GetValue(tag) is { } text ? System.Text.Encoding.UTF8.GetBytes(text) : null;
            return await RunAsync(options, new EchoHandler(replyTag), parseResult.GetValue(statsFile), parseResult.GetValue(quiet), metrics.GetValue(parseResult), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(
        SessionServerOptions options, EchoHandler handler, string? statsFile, bool quiet, MetricsEndpoint? metricsAddress, CancellationToken invocationToken)
    {
        using var shutdown = new ShutdownSignal(invocationToken);
        using AllocationStatsFile? stats = statsFile is null ? null : new AllocationStatsFile(statsFile, TimeSpan.FromMilliseconds(100));
        SessionServer server;
        try
        {
            server = await SessionServer.StartAsync(options, handler, cancellationToken: shutdown.Token);
        }
        catch (Exception e) when (e is ArgumentException or PlatformNotSupportedException or IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"udps echo: cannot start: {e.Message}");
            return 2;
        }

        if (!PrometheusEndpoint.TryStart(metricsAddress, [server], "udps echo", out PrometheusEndpoint? prometheus))
        {
            await server.StopAsync(CancellationToken.None);
            return 2;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"udps echo: listening on {server.Transport.ToString().ToUpperInvariant()} {server.LocalEndPoint} ({server.EngineDescription}, {server.Options.IoThreads} I/O thread(s){(server.Options.Dtls is null ? "" : ", DTLS")}); Ctrl+C to stop"));
        // The server also ends by itself once a successor took its listeners and its sessions are done.
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(shutdown.Token);
        _ = server.Completion.ContinueWith(_ => ended.Cancel(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            if (quiet)
            {
                await Task.Delay(Timeout.Infinite, ended.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            else
            {
                // The managed heap goes on the line too, for soak runs that watch the server for growth (bench/soak).
                await EverySecond.ReportAsync(server.GetStatistics, (previous, current, elapsed) => RateLine.Format(previous, current, elapsed) +
                    string.Create(CultureInfo.InvariantCulture, $" gcHeapKiB={GC.GetTotalMemory(forceFullCollection: false) / 1024} gcs={GC.CollectionCount(0)}"),
                    ended.Token);
            }

            if (shutdown.Terminated && options.DrainTimeout > TimeSpan.Zero && !server.Completion.IsCompleted)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"udps echo: draining (up to {options.DrainTimeout.TotalSeconds} s; SIGTERM again stops at once)"));
                await server.DrainAsync(options.DrainTimeout, CancellationToken.None);
            }
        }
        finally
        {
            prometheus?.Dispose();
            // The shutdown token has fired by now; stopping must not be cancelled by it.
            await server.StopAsync(CancellationToken.None);
        }

        Console.WriteLine(server.GetStatistics().DatagramsHandedOver > 0 || server.IsDraining ? "udps echo: drained and stopped" : "udps echo: stopped");
        StatisticsReport.Write(Console.Out, server.GetStatistics());
        if (server.GetDtlsStatistics() is { } dtlsStatistics)
        {
            DtlsCliOptions.WriteStatistics(Console.Out, dtlsStatistics);
        }
        return 0;
    }
}
