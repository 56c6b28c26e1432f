using System.Diagnostics;
using System.Text.Json;

namespace UdpSessions.Cli.Tests.Operations;

/// <summary>
/// The figures of a handover run for bench/handover.sh (BENCHMARKS.md): appended as one JSON line to the file named by
/// UDPS_HANDOVER_FIGURES when it is set, never asserted on. Round trips are split into before the successor started
/// and the switch (from the successor's start to one second after it listened).
/// </summary>
internal static class HandoverFigures
{
    public static void Write(string scenario, TaggedTraffic traffic, long successorStarted, long tookOver, long oldExited, long handedOver)
    {
        if (Environment.GetEnvironmentVariable("UDPS_HANDOVER_FIGURES") is not { Length: > 0 } path)
        {
            return;
        }

        long switchEnd = tookOver + Stopwatch.Frequency;
        var answers = traffic.Steady.Concat(traffic.Churn).SelectMany(flow => flow.Answers).ToList();
        double[] before = Milliseconds(answers.Where(answer => answer.Time < successorStarted));
        double[] during = Milliseconds(answers.Where(answer => answer.Time >= successorStarted && answer.Time < switchEnd));
        var figures = new Dictionary<string, object>
        {
            ["scenario"] = scenario,
            ["sessions"] = traffic.Steady.Count,
            ["churnSessions"] = traffic.Churn.Count,
            ["replies"] = traffic.Replies,
            ["lost"] = traffic.Lost,
            ["late"] = traffic.Late,
            ["misrouted"] = traffic.Misrouted,
            ["duplicated"] = traffic.Duplicated,
            ["handedOver"] = handedOver,
            ["successorReadyMs"] = (tookOver - successorStarted) * 1000.0 / Stopwatch.Frequency,
            ["oldExitAfterTakeoverMs"] = (oldExited - tookOver) * 1000.0 / Stopwatch.Frequency,
            ["rttBeforeP50Ms"] = Percentile(before, 0.50),
            ["rttBeforeP99Ms"] = Percentile(before, 0.99),
            ["rttBeforeMaxMs"] = Percentile(before, 1),
            ["rttSwitchP50Ms"] = Percentile(during, 0.50),
            ["rttSwitchP99Ms"] = Percentile(during, 0.99),
            ["rttSwitchMaxMs"] = Percentile(during, 1),
        };
        File.AppendAllText(path, JsonSerializer.Serialize(figures) + "\n");
    }

    private static double[] Milliseconds(IEnumerable<(long Time, char Tag, long RoundTrip)> answers) =>
        [.. answers.Select(answer => answer.RoundTrip * 1000.0 / Stopwatch.Frequency).Order()];

    private static double Percentile(double[] sorted, double quantile) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))];
}
