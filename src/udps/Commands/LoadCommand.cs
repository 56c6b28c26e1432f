using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Spectre.Console;
using UdpSessions.Cli.Load;
using UdpSessions.Cli.Plots;

namespace UdpSessions.Cli.Commands;

/// <summary>
/// <c>udps load</c>: drives any UDP echo server from many sessions and verifies every reply. Exit status: 0 pass,
/// 1 integrity errors or loss above the threshold, 2 bad setup, 130 interrupted (after printing what was measured).
/// </summary>
internal static class LoadCommand
{
    // Sockets the process needs besides the sessions (runtime, epoll, stdio).
    private const int ReservedFds = 64;

    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "Server address (IP literal or localhost). Default: loopback.", DefaultValueFactory = _ => "127.0.0.1" };
        host.Validators.Add(r =>
        {
            if (ParseHost(r.GetValueOrDefault<string>()) is null)
            {
                r.AddError("--host must be an IPv4 or IPv6 address or localhost.");
            }
        });
        Option<int> port = CliOptions.RequiredInt("--port", "Server UDP port.", 1, 65535);
        Option<int> sessions = CliOptions.Int("--sessions", "Client sessions, each its own socket and source port (up to the fd limit).", 64, 1, 1 << 20);
        Option<int> threads = CliOptions.Int("--threads", "Client threads.", Math.Min(2, Environment.ProcessorCount), 1, 256);
        Option<int> size = CliOptions.Int("--size", "Bytes per datagram, 20-byte header included.", 64, DatagramHeader.Size, LoadClientOptions.MaxDatagramSize);
        Option<int> window = CliOptions.Int("--window", "Closed loop: datagrams in flight per session.", 1, 1, 65_536);
        Option<double?> rate = Seconds("--rate", "Open loop: total datagrams per second, sent on schedule; latency counts from the scheduled time.", 1, 100_000_000);
        Option<double?> warmup = Seconds("--warmup", "Seconds of traffic before measuring (default 1).", 0, 600);
        Option<double?> duration = Seconds("--duration", "Seconds to measure (default 10).", 0.1, 3600);
        Option<int> timeout = CliOptions.Int("--timeout-ms", "A request unanswered this long is lost (a later answer counts as late).", 1000, 1, 60_000);
        Option<int?> churn = CliOptions.OptionalInt("--churn", "Each session sends this many datagrams, then its socket is replaced by a new one.", 1);
        Option<double?> maxLoss = Seconds("--max-loss", "Loss in percent above which the run fails (default 0).", 0, 100);
        var json = new Option<bool>("--json") { Description = "Print the result as JSON on stdout (progress goes to stderr)." };
        Option<int?> serverPid = CliOptions.OptionalInt("--server-pid", "Also report this local server process's CPU time per reply (/proc/PID/stat).", 1);
        var serverStats = new Option<string?>("--server-stats-file") { Description = "The server's --stats-file, to report its managed bytes allocated per reply." };
        Option<string?> plot = PlotCommand.PictureOption("--plot", "Draw replies/s over time and the latency percentile distribution into this .svg or .png file.");

        var dtls = new DtlsCliOptions();
        var command = new Command("load", "Load a UDP echo server from many sessions and verify every reply (lost, late, corrupt, misrouted, duplicated).");
        dtls.AddTo(command, server: false);
        dtls.Excludes(command, churn, "every replacement session would need a handshake");
        foreach (Option option in (Option[])[host, port, sessions, threads, size, window, rate, warmup, duration, timeout, churn, maxLoss, json, serverPid, serverStats, plot])
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            int? pid = parseResult.GetValue(serverPid);
            var options = new LoadClientOptions
            {
                Target = new IPEndPoint(ParseHost(parseResult.GetRequiredValue(host))!, parseResult.GetValue(port)),
                AllowRemoteTarget = true, // the default is loopback; any other address was typed by the user
                Sessions = parseResult.GetValue(sessions),
                Threads = parseResult.GetValue(threads),
                DatagramSize = parseResult.GetValue(size),
                Window = parseResult.GetValue(window),
                Rate = parseResult.GetValue(rate),
                WarmUp = TimeSpan.FromSeconds(parseResult.GetValue(warmup) ?? 1),
                Duration = TimeSpan.FromSeconds(parseResult.GetValue(duration) ?? 10),
                ReplyTimeout = TimeSpan.FromMilliseconds(parseResult.GetValue(timeout)),
                Churn = parseResult.GetValue(churn),
                Probe = pid is int id ? new ServerProbe(id, parseResult.GetValue(serverStats)) : null,
                Dtls = dtls.ClientOptions(parseResult),
                HandshakeThreads = dtls.HandshakeThreads(parseResult),
            };
            return await RunAsync(options, parseResult.GetValue(maxLoss) ?? 0, parseResult.GetValue(json), parseResult.GetValue(plot), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(LoadClientOptions options, double maxLossPercent, bool json, string? plotPath, CancellationToken invocationToken)
    {
        TextWriter messages = json ? Console.Error : Console.Out;
        long? fdLimit = FdLimit.RaiseSoftToHard();
        if (fdLimit is long limit && options.Sessions > limit - ReservedFds)
        {
            await Console.Error.WriteLineAsync(Invariant($"udps load: {options.Sessions} sessions need more file descriptors than the limit of {limit} allows (at most {limit - ReservedFds})."));
            return 2;
        }

        if (options.Probe is ServerProbe probe && !TryProbe(probe, out string? problem))
        {
            await Console.Error.WriteLineAsync($"udps load: cannot read the server's counters: {problem}");
            return 2;
        }

        using var shutdown = new ShutdownSignal(invocationToken);
        var client = new LoadClient(options);
        string mode = options.Rate is double r ? Invariant($"open loop {r:N0}/s") : Invariant($"window {options.Window}");
        string churn = (options.Churn is int k ? Invariant($", churn every {k}") : "") + (options.Dtls is null ? "" : ", DTLS");
        await messages.WriteLineAsync(Invariant(
            $"udps load: {options.Target}, {options.Sessions} sessions x {options.DatagramSize} B, {mode}{churn}, {options.Threads} thread(s); {options.WarmUp.TotalSeconds:0.###} s warm-up, {options.Duration.TotalSeconds:0.###} s measured"));

        LoadResult result;
        try
        {
            bool live = !json && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            result = await LoadProgress.ShowAsync(client, client.RunAsync(shutdown.Token), messages, live);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            await Console.Error.WriteLineAsync($"udps load: {e.Message}"); // IOException: a DTLS handshake failed
            return 2;
        }

        bool lossTooHigh = result.LossPercent > maxLossPercent;
        bool pass = !result.Cancelled && result.IntegrityErrors == 0 && !lossTooHigh;
        if (json)
        {
            using Stream stdout = Console.OpenStandardOutput();
            LoadJson.Write(stdout, result, maxLossPercent, pass);
            stdout.WriteByte((byte)'\n');
        }
        else
        {
            AnsiConsole.Write(LoadReport.Build(result));
        }

        if (plotPath is not null)
        {
            try
            {
                LoadPlot.Save([LoadPlotData.FromResult(result, Invariant($"{options.Sessions} sessions, {mode}"))], plotPath);
                await messages.WriteLineAsync($"udps load: plot written to {plotPath}");
            }
            catch (PlotException e)
            {
                await Console.Error.WriteLineAsync($"udps load: {e.Message}");
                return 2;
            }
        }

        if (result.Cancelled)
        {
            await messages.WriteLineAsync("udps load: interrupted; the figures above cover what was measured until then");
            return 130;
        }

        await messages.WriteLineAsync(pass
            ? "udps load: PASS"
            : Invariant($"udps load: FAIL: {result.IntegrityErrors} integrity error(s), loss {result.LossPercent:0.###} % (threshold {maxLossPercent:0.###} %)"));
        return pass ? 0 : 1;
    }

    private static bool TryProbe(ServerProbe probe, out string? problem)
    {
        try
        {
            probe.Sample();
            problem = null;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            problem = e.Message;
            return false;
        }
    }

    private static IPAddress? ParseHost(string? text) =>
        string.Equals(text, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
        : IPAddress.TryParse(text, out IPAddress? address) ? address
        : null;

    private static Option<double?> Seconds(string name, string description, double min, double max)
    {
        var option = new Option<double?>(name) { Description = description };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is double v && (double.IsNaN(v) || v < min || v > max))
            {
                r.AddError(Invariant($"{name} must be between {min} and {max}."));
            }
        });
        return option;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
