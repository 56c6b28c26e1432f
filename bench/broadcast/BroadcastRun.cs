using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace UdpSessions.Bench;

/// <summary>
/// Runs every configuration <c>rounds</c> times, interleaved (A B C ... A B C), each in a fresh server process pinned
/// to CPU 1 while this process (the clients) runs on CPU 0, and reports the median server CPU per delivered datagram
/// with the ratio of the broadcast to the loop of Send in the same configuration.
/// </summary>
internal static class BroadcastRun
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static int Execute(BroadcastSettings settings, int rounds, string? only, string? jsonPath)
    {
        bool pinned = TryPin(0);
        BroadcastConfig[] configs = [.. BroadcastConfig.All().Where(c => only is null || c.Name.Contains(only, StringComparison.OrdinalIgnoreCase))];
        var results = new List<(BroadcastConfig Config, int Round, Measurement Result)>();
        Console.WriteLine($"{settings.Sessions} sessions, {settings.Size}-byte snapshot, {settings.Rate} ticks/s, {settings.WarmupSeconds} s warm-up + {settings.Seconds} s; " +
            $"server on CPU 1, clients on CPU 0{(pinned ? "" : " (NOT pinned: taskset or affinity unavailable)")}");
        for (int round = 1; round <= rounds; round++)
        {
            foreach (BroadcastConfig config in configs)
            {
                Measurement result = RunOne(config, settings);
                results.Add((config, round, result));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {round} {config.Name,-40} {result.CpuMicrosPerDatagram,7:F3} µs/datagram  delivered {result.Delivered,9:N0} of {result.Expected,9:N0}  " +
                    $"refused {result.Refused} disordered {result.Disordered} caller {result.CallerMicrosPerTick,7:F0} µs/tick"));
            }
        }

        string report = Report(settings, rounds, results);
        Console.WriteLine();
        Console.WriteLine(report);
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(results.Select(r => new
            {
                config = r.Config.Name, r.Round, r.Result.CpuMicros, r.Result.Delivered, r.Result.Expected, r.Result.Refused, r.Result.Disordered, r.Result.LateTicks,
                r.Result.CallerMicrosPerTick,
                cpuMicrosPerDatagram = r.Result.CpuMicrosPerDatagram,
            }), Indented));
        }

        return results.All(r => r.Result.Disordered == 0) ? 0 : 1;
    }

    private static Measurement RunOne(BroadcastConfig config, BroadcastSettings settings)
    {
        string self = Environment.ProcessPath!;
        string dll = typeof(BroadcastRun).Assembly.Location;
        var start = new ProcessStartInfo(File.Exists("/usr/bin/taskset") ? "/usr/bin/taskset" : self)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (start.FileName.EndsWith("taskset", StringComparison.Ordinal))
        {
            foreach (string a in (string[])["-c", "1", self])
            {
                start.ArgumentList.Add(a);
            }
        }

        if (!self.EndsWith("UdpSessions.Bench.Broadcast", StringComparison.Ordinal))
        {
            start.ArgumentList.Add(dll); // run through "dotnet"
        }

        foreach (string a in (string[])["server", "--config", config.Name, "--sessions", $"{settings.Sessions}", "--size", $"{settings.Size}",
            "--rate", $"{settings.Rate}", "--warmup", Invariant(settings.WarmupSeconds), "--seconds", Invariant(settings.Seconds)])
        {
            start.ArgumentList.Add(a);
        }

        using Process server = Process.Start(start)!;
        try
        {
            int port = int.Parse(Expect(server, "PORT ").Trim(), CultureInfo.InvariantCulture);
            using var clients = new RoomClients(new IPEndPoint(IPAddress.Loopback, port), settings.Sessions);
            clients.Join();
            Expect(server, "READY");
            using var stop = new CancellationTokenSource();
            var receiver = new Thread(() => clients.Receive(settings.WarmupTicks, stop.Token)) { Name = "receiver" };
            receiver.Start();
            server.StandardInput.WriteLine("GO");
            server.StandardInput.Flush();
            Dictionary<string, string> result = Expect(server, "RESULT ").Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(pair => pair.Split('=')).ToDictionary(pair => pair[0], pair => pair[1]);
            Thread.Sleep(300); // the last snapshots reach their sockets
            stop.Cancel();
            receiver.Join();
            server.StandardInput.WriteLine("STOP");
            server.StandardInput.Flush();
            server.WaitForExit(30_000);
            long cpu = long.Parse(result["cpuMicros"], CultureInfo.InvariantCulture);
            return new Measurement(cpu, clients.Measured, (long)settings.MeasuredTicks * settings.Sessions,
                long.Parse(result["refused"], CultureInfo.InvariantCulture), clients.Disordered, int.Parse(result["lateTicks"], CultureInfo.InvariantCulture),
                double.Parse(result["callerMicrosPerTick"], CultureInfo.InvariantCulture));
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill();
            }
        }
    }

    private static string Expect(Process server, string prefix)
    {
        for (int lines = 0; lines < 100; lines++)
        {
            string? line = server.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"the server exited before \"{prefix}\"");
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line[prefix.Length..];
            }
        }

        throw new InvalidOperationException($"no \"{prefix}\" from the server");
    }

    private static string Report(BroadcastSettings settings, int rounds, List<(BroadcastConfig Config, int Round, Measurement Result)> results)
    {
        var text = new StringBuilder();
        text.AppendLine("| server | tick on | broadcast: server CPU µs/datagram | loop of Send: µs/datagram | broadcast / loop | caller µs/tick, broadcast vs loop | delivered |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var group in results.GroupBy(r => (r.Config.Server, r.Config.Origin)))
        {
            Measurement[] Of(SendMethod method) => [.. group.Where(r => r.Config.Method == method).Select(r => r.Result)];
            string Cpu(SendMethod method) => Of(method) is { Length: > 0 } m
                ? string.Create(CultureInfo.InvariantCulture, $"{MedianOf(m.Select(x => x.CpuMicrosPerDatagram)):F2} ({m.Min(x => x.CpuMicrosPerDatagram):F2}-{m.Max(x => x.CpuMicrosPerDatagram):F2})")
                : "-";
            string Caller(SendMethod method) => Of(method) is { Length: > 0 } m ? string.Create(CultureInfo.InvariantCulture, $"{MedianOf(m.Select(x => x.CallerMicrosPerTick)):F0}") : "-";
            double ratio = MedianOf(group.Where(r => r.Config.Method == SendMethod.Group).SelectMany(r =>
                group.Where(o => o.Round == r.Round && o.Config.Method == SendMethod.SendLoop).Select(o => r.Result.CpuMicrosPerDatagram / o.Result.CpuMicrosPerDatagram)));
            long delivered = group.Sum(r => r.Result.Delivered);
            long expected = group.Sum(r => r.Result.Expected);
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {group.Key.Server} | {(group.Key.Origin == TickOrigin.AppThread ? "app thread" : "I/O thread (Schedule)")} | {Cpu(SendMethod.Group)} | {Cpu(SendMethod.SendLoop)} | " +
                $"**{ratio:F2}** | {Caller(SendMethod.Group)} vs {Caller(SendMethod.SendLoop)} | {100.0 * delivered / expected:F2} % |"));
        }

        text.AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{settings.Sessions} sessions, {settings.Size}-byte snapshot, {settings.Rate} ticks/s, {settings.Seconds} s measured per run, median of {rounds} interleaved rounds (spread in brackets); ratio: median of the per-round ratios."));
        return text.ToString();
    }

    private static double MedianOf(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static bool TryPin(int cpu)
    {
        try
        {
            if (Environment.ProcessorCount < 2 || !OperatingSystem.IsLinux())
            {
                return false;
            }

            Process.GetCurrentProcess().ProcessorAffinity = 1 << cpu;
            return File.Exists("/usr/bin/taskset");
        }
        catch (Exception e) when (e is PlatformNotSupportedException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed record Measurement(long CpuMicros, long Delivered, long Expected, long Refused, long Disordered, int LateTicks, double CallerMicrosPerTick)
    {
        public double CpuMicrosPerDatagram => Delivered == 0 ? double.NaN : (double)CpuMicros / Delivered;
    }
}
