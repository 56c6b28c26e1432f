using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;
using System.Text;
using UdpSessions.Cli.Echo;
using UdpSessions.Cli.Forward;
using UdpSessions.Cli.Metrics;

namespace UdpSessions.Cli.Commands;

/// <summary><c>udps forward</c>: a UDP forwarder (<see cref="UdpForwarder"/>) that reports its rates every second.</summary>
internal static class ForwardCommand
{
    public static Command Create()
    {
        var listen = new Option<IPEndPoint>("--listen")
        {
            Description = "Address and port clients send to: HOST:PORT, [IPv6]:PORT (port 0 picks a free one).",
            Required = true,
            HelpName = "HOST:PORT",
            CustomParser = result => EndPointParser.Parse(result.Tokens[0].Value, out string? problem, allowPortZero: true) ?? Fail<IPEndPoint>(result, problem),
        };
        var upstreams = new Option<UpstreamOptions[]>("--upstream")
        {
            Description = "An upstream, HOST:PORT[,weight=N]; repeat for several.",
            Required = true,
            HelpName = "HOST:PORT[,weight=N]",
            AllowMultipleArgumentsPerToken = false,
            CustomParser = result => [.. result.Tokens.Select(t => EndPointParser.ParseUpstream(t.Value, out string? problem) ?? Fail<UpstreamOptions>(result, problem))],
        };
        Option<string> balance = CliOptions.Choice("--balance", "hash: sticky per client session, consistent hashing; round-robin: per datagram.",
            "hash", "hash", "round-robin");
        Option<string> proxy = CliOptions.Choice("--proxy-protocol", "PROXY protocol v2 header toward the upstream: off, first (first datagram of each upstream session) or every.",
            "off", "off", "first", "every");
        Option<int?> responses = CliOptions.OptionalInt("--responses-per-request",
            "Replies per request (nginx proxy_responses): a session closes once all its requests are answered; more replies are dropped. DNS: 1.", 1);
        Option<int?> requests = CliOptions.OptionalInt("--requests-per-session",
            "Requests per upstream session (nginx proxy_requests): the next one starts a new upstream session.", 1);
        var idle = Seconds("--idle-timeout-seconds", "Close sessions whose client sent nothing this long; 0 turns it off.", 60);
        var upstreamIdle = Seconds("--upstream-idle-timeout-seconds", "Close sessions whose upstream sent nothing this long; 0 (default) turns it off.", 0);
        Option<int?> window = CliOptions.OptionalInt("--unanswered-window-ms", "Passive health: an upstream that answers nothing this long while asked is unhealthy (default: off).", 10, 86_400_000);
        var retry = Seconds("--retry-unhealthy-seconds", "Without probes, try an upstream again this long after a passive check failed.", 10);
        var probe = new Option<string?>("--probe") { Description = "Active health probe payload (text; \\xHH escapes allowed), sent to each upstream every --probe-interval-ms." };
        var expect = new Option<string?>("--probe-expect") { Description = "The reply a healthy upstream gives to --probe (default: any reply)." };
        Option<int> probeInterval = CliOptions.Int("--probe-interval-ms", "Time between probes of one upstream.", 5_000, 10, 3_600_000);
        Option<int> probeTimeout = CliOptions.Int("--probe-timeout-ms", "How long a probe waits for its reply.", 1_000, 1, 3_600_000);
        Option<int> socketWait = CliOptions.Int("--upstream-socket-wait-ms", "Without a free fd, hold a new session's datagrams this long for its upstream socket.", 1_000, 0, 60_000);
        Option<int?> maxUpstreamSockets = CliOptions.OptionalInt("--max-upstream-sockets",
            "Most upstream sockets at once (default: the fd limit, raised to its hard value, less 512).", 1);
        Option<int?> upstreamBuffer = CliOptions.OptionalInt("--upstream-receive-buffer", "SO_RCVBUF of each upstream socket in bytes (default: kernel's).", 0);
        Option<int?> maxSessions = CliOptions.OptionalInt("--max-sessions", "Most client sessions at once (default 100000).", 1, 1 << 24);
        Option<int?> maxDatagram = CliOptions.OptionalInt("--max-datagram-size", "Largest datagram either way, in bytes (default 4096).", 1, 65_527);
        Option<int?> budget = CliOptions.OptionalInt("--socket-budget", "Most client sessions with a socket of their own on the client side (default: adaptive placement's).", 0);
        var quiet = new Option<bool>("--quiet") { Description = "No per-second rate lines." };
        var engine = new EngineOptions();
        var hardening = new HardeningOptions();
        var metrics = new MetricsOption();

        var command = new Command("forward", "Run a UDP forwarder from --listen to the --upstream servers until Ctrl+C or SIGTERM, printing rates every second.");
        foreach (Option option in new Option[] { listen, upstreams, balance, proxy, responses, requests, idle, upstreamIdle, window, retry, probe, expect,
            probeInterval, probeTimeout, socketWait, maxUpstreamSockets, upstreamBuffer, maxSessions, maxDatagram, budget, quiet })
        {
            command.Options.Add(option);
        }

        engine.AddTo(command);
        hardening.AddTo(command);
        metrics.AddTo(command);

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = new UdpForwarderOptions
            {
                Server = new SessionServerOptions
                {
                    EndPoint = parseResult.GetRequiredValue(listen),
                    IdleTimeout = ToTimeout(parseResult.GetValue(idle)),
                    SocketBudget = parseResult.GetValue(budget),
                    SessionReceiveBufferSize = 1 << 20,
                },
                Balancing = parseResult.GetValue(balance) == "round-robin" ? UpstreamBalancing.RoundRobin : UpstreamBalancing.ConsistentHash,
                ProxyProtocol = parseResult.GetValue(proxy) switch { "first" => ProxyProtocolMode.FirstDatagram, "every" => ProxyProtocolMode.EveryDatagram, _ => ProxyProtocolMode.None },
                ResponsesPerRequest = parseResult.GetValue(responses),
                RequestsPerSession = parseResult.GetValue(requests),
                UpstreamIdleTimeout = ToTimeout(parseResult.GetValue(upstreamIdle)),
                UpstreamSocketWait = TimeSpan.FromMilliseconds(parseResult.GetValue(socketWait)),
                UpstreamReceiveBufferSize = parseResult.GetValue(upstreamBuffer) ?? 0,
                MaxUpstreamSockets = parseResult.GetValue(maxUpstreamSockets),
                Health =
                {
                    UnansweredWindow = parseResult.GetValue(window) is int ms ? TimeSpan.FromMilliseconds(ms) : Timeout.InfiniteTimeSpan,
                    RetryAfter = TimeSpan.FromSeconds(Math.Max(parseResult.GetValue(retry), 0.01)),
                },
            };
            foreach (UpstreamOptions upstream in parseResult.GetRequiredValue(upstreams))
            {
                options.Upstreams.Add(upstream);
            }

            if (parseResult.GetValue(probe) is string payload)
            {
                options.Health.Probe = new UpstreamProbeOptions
                {
                    Payload = Unescape(payload),
                    ExpectedReply = parseResult.GetValue(expect) is string reply ? Unescape(reply) : null,
                    Interval = TimeSpan.FromMilliseconds(parseResult.GetValue(probeInterval)),
                    Timeout = TimeSpan.FromMilliseconds(Math.Min(parseResult.GetValue(probeTimeout), parseResult.GetValue(probeInterval))),
                };
            }

            engine.ApplyTo(parseResult, options.Server);
            hardening.ApplyTo(parseResult, options.Server);
            if (parseResult.GetValue(maxSessions) is int max)
            {
                options.Server.MaxSessions = max;
            }

            if (parseResult.GetValue(maxDatagram) is int size)
            {
                options.Server.MaxDatagramSize = size;
            }

            return await RunAsync(options, parseResult.GetValue(quiet), metrics.GetValue(parseResult), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(UdpForwarderOptions options, bool quiet, MetricsEndpoint? metricsAddress, CancellationToken invocationToken)
    {
        using var shutdown = new ShutdownSignal(invocationToken);
        Load.FdLimit.RaiseSoftToHard(); // every client session costs an upstream socket
        UdpForwarder forwarder;
        try
        {
            forwarder = await UdpForwarder.StartAsync(options, cancellationToken: shutdown.Token);
        }
        catch (Exception e) when (e is ArgumentException or PlatformNotSupportedException or IOException or System.Net.Sockets.SocketException)
        {
            await Console.Error.WriteLineAsync($"udps forward: cannot start: {e.Message}");
            return 2;
        }

        if (!PrometheusEndpoint.TryStart(metricsAddress, () => UdpSessionsMetrics.Publish(forwarder), "udps forward", out PrometheusEndpoint? prometheus))
        {
            await forwarder.StopAsync(CancellationToken.None);
            return 2;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"udps forward: listening on UDP {forwarder.LocalEndPoint} ({forwarder.Server.EngineDescription}, {forwarder.Server.Options.IoThreads} I/O thread(s)), " +
            $"forwarding to {string.Join(", ", options.Upstreams)} ({options.Balancing}); Ctrl+C to stop"));
        try
        {
            if (quiet)
            {
                await Task.Delay(Timeout.Infinite, shutdown.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            else
            {
                await EverySecond.ReportAsync(forwarder.GetStatistics, ForwardReport.Line, shutdown.Token);
            }
        }
        finally
        {
            prometheus?.Dispose();
            await forwarder.StopAsync(CancellationToken.None);
        }

        Console.WriteLine("udps forward: stopped");
        ForwardReport.Write(Console.Out, forwarder.GetStatistics());
        return 0;
    }

    private static Option<double> Seconds(string name, string description, double defaultValue)
    {
        var option = new Option<double>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(r =>
        {
            double v = r.GetValueOrDefault<double>();
            if (v != 0 && v is < 0.01 or > 86_400)
            {
                r.AddError($"{name} must be 0 or between 0.01 and 86400.");
            }
        });
        return option;
    }

    private static TimeSpan ToTimeout(double seconds) => seconds == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);

    /// <summary>Text with \xHH escapes (and \\) as bytes: probes are often binary (a DNS query).</summary>
    private static byte[] Unescape(string text)
    {
        var bytes = new List<byte>();
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 3 < text.Length && text[i + 1] == 'x'
                && byte.TryParse(text.AsSpan(i + 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte value))
            {
                bytes.Add(value);
                i += 3;
            }
            else if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] == '\\')
            {
                bytes.Add((byte)'\\');
                i++;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(text[i].ToString()));
            }
        }

        return [.. bytes];
    }

    private static T Fail<T>(ArgumentResult result, string? problem)
    {
        result.AddError(problem ?? "invalid value");
        return default!;
    }
}
