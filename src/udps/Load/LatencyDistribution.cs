using HdrHistogram;

namespace UdpSessions.Cli.Load;

/// <summary>One point of a latency percentile distribution: this percentile of the replies took at most this long.</summary>
internal readonly record struct LatencyPoint(double Percentile, long Micros);

/// <summary>The latency percentile distribution of a run, as HdrHistogram reports it (denser towards the tail).</summary>
internal static class LatencyDistribution
{
    // Steps per halving of the distance to 100 %: 5 gives ~100 points for a million replies.
    private const int TicksPerHalfDistance = 5;

    /// <summary>
    /// The points up to the maximum. The maximum is placed at the percentile one reply occupies, 100 × (1 − 1/count),
    /// not at 100 %: a run of 10,000 replies says nothing about the 99.999th percentile.
    /// </summary>
    public static IReadOnlyList<LatencyPoint> Of(HistogramBase latencyMicros)
    {
        if (latencyMicros.TotalCount == 0)
        {
            return [];
        }

        double resolution = 100.0 * (1 - (1.0 / latencyMicros.TotalCount));
        return [.. latencyMicros.Percentiles(TicksPerHalfDistance)
            .Select(v => new LatencyPoint(Math.Min(v.PercentileLevelIteratedTo, resolution), v.ValueIteratedTo))];
    }
}
