using System.Globalization;

namespace UdpSessions.Bench;

/// <summary>
/// The pass criterion, "flat": after a warm-up (the first fifth of the samples, at least two), the median of the last
/// third of the samples is compared with the median of the first third:
/// RSS at most +10 % + 16 MiB, fds at most +10 % + 32, GC heap at most +25 % + 8 MiB, steady throughput at least 70 %
/// of the start. Also: no steady reply misdelivered, steady and churn loss under 0.1 %, the server alive at the end.
/// </summary>
internal static class SoakVerdict
{
    public static bool Judge(List<Sample> samples, bool serverAlive, SteadyClients steady, Churn churn)
    {
        var checks = new List<(string Name, bool Passed, string Detail)>();
        int warmup = Math.Max(2, samples.Count / 5);
        Sample[] measured = [.. samples.Skip(warmup)];
        if (measured.Length < 3)
        {
            Console.WriteLine($"soak: FAIL: only {samples.Count} samples, too few to judge (server alive: {serverAlive})");
            return false;
        }

        int third = Math.Max(1, measured.Length / 3);
        Sample[] first = measured[..third];
        Sample[] last = measured[^third..];
        void Grows(string name, Func<Sample, double> value, double factor, double slack)
        {
            double before = Median(first, value), after = Median(last, value), limit = (before * factor) + slack;
            checks.Add((name, after <= limit, string.Create(CultureInfo.InvariantCulture, $"{before:F1} -> {after:F1} (limit {limit:F1})")));
        }

        Grows("RSS MiB", s => s.RssMiB, 1.10, 16);
        Grows("fds", s => s.Fds, 1.10, 32);
        Grows("GC heap MiB", s => s.GcHeapMiB, 1.25, 8);
        double startRate = Median(first, s => s.Throughput), endRate = Median(last, s => s.Throughput);
        checks.Add(("steady replies/s", endRate >= 0.7 * startRate, string.Create(CultureInfo.InvariantCulture, $"{startRate:F0} -> {endRate:F0} (at least {0.7 * startRate:F0})")));
        checks.Add(("steady misdelivered", steady.Wrong == 0, $"{steady.Wrong}"));
        checks.Add(("steady lost", steady.Lost <= steady.Replies / 1000, $"{steady.Lost} of {steady.Replies + steady.Lost}"));
        checks.Add(("churn lost replies", churn.Lost <= churn.Sessions * 2 / 1000, $"{churn.Lost} of {churn.Sessions * 2}"));
        checks.Add(("churn sessions", churn.Sessions > 0, $"{churn.Sessions}"));
        checks.Add(("server alive", serverAlive, serverAlive ? "yes" : "no"));

        foreach ((string name, bool passed, string detail) in checks)
        {
            Console.WriteLine($"  {(passed ? "ok  " : "FAIL")} {name}: {detail}");
        }

        bool all = checks.All(c => c.Passed);
        Console.WriteLine($"soak: {(all ? "PASS" : "FAIL")} ({samples.Count} samples, {warmup} of them warm-up)");
        return all;
    }

    private static double Median(Sample[] samples, Func<Sample, double> value)
    {
        double[] sorted = [.. samples.Select(value).Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
