using System.Diagnostics;

namespace UdpSessions.Cli.Load;

/// <summary>The phases of one run as <see cref="Stopwatch"/> timestamps, fixed before the first send so all threads agree.</summary>
internal readonly record struct LoadSchedule(long Start, long RampEnd, long MeasureStart, long SendEnd, long DrainEnd, long ReplyTimeoutTicks)
{
    public static LoadSchedule StartingNow(LoadClientOptions options)
    {
        long start = Stopwatch.GetTimestamp();
        long measureStart = start + Ticks(options.WarmUp);
        long sendEnd = measureStart + Ticks(options.Duration);
        long timeout = Ticks(options.ReplyTimeout);
        return new LoadSchedule(start, start + (Ticks(options.WarmUp) / 2), measureStart, sendEnd, sendEnd + timeout, timeout);
    }

    public bool IsSending(long now) => now < SendEnd;

    public bool IsMeasuring(long now) => now >= MeasureStart && now < SendEnd;

    /// <summary>When session <paramref name="index"/> of <paramref name="count"/> sends its first request.</summary>
    public long SessionStart(int index, int count) => Start + (long)((RampEnd - Start) * ((double)index / count));

    public static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
