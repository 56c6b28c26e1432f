using System.Diagnostics;

namespace UdpSessions.Cli.Load;

/// <summary>
/// Replies counted per fixed interval from the start of a run (warm-up, measured phase and drain), for the replies/s
/// over time picture. Each client thread owns one, sized before the run, so counting a reply is an array increment.
/// </summary>
internal sealed class ReplyTimeline
{
    /// <summary>Intervals are at least this long, and long enough that a run has at most <see cref="MaxIntervals"/>.</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(100);

    public const int MaxIntervals = 2000;

    private readonly long _start;
    private readonly long _intervalTicks;

    private ReplyTimeline(long start, long intervalTicks, long[] replies, TimeSpan measureStart, TimeSpan measureEnd)
    {
        _start = start;
        _intervalTicks = intervalTicks;
        Replies = replies;
        MeasureStart = measureStart;
        MeasureEnd = measureEnd;
    }

    public TimeSpan Interval => TimeSpan.FromSeconds((double)_intervalTicks / Stopwatch.Frequency);

    /// <summary>Replies (late ones included) whose arrival fell in each interval.</summary>
    public long[] Replies { get; }

    /// <summary>Where the measured phase starts and ends, from the start of the run.</summary>
    public TimeSpan MeasureStart { get; }

    public TimeSpan MeasureEnd { get; }

    /// <summary>An empty timeline covering <paramref name="schedule"/> from its start to the end of its drain.</summary>
    public static ReplyTimeline For(LoadSchedule schedule)
    {
        long span = schedule.DrainEnd - schedule.Start;
        long interval = Math.Max(LoadSchedule.Ticks(MinInterval), (span + MaxIntervals - 1) / MaxIntervals);
        return new ReplyTimeline(schedule.Start, interval, new long[(span / interval) + 1],
            Elapsed(schedule.Start, schedule.MeasureStart), Elapsed(schedule.Start, schedule.SendEnd));
    }

    /// <summary>The sum of <paramref name="timelines"/>, which must come from one schedule.</summary>
    public static ReplyTimeline Sum(IReadOnlyList<ReplyTimeline> timelines)
    {
        ReplyTimeline first = timelines[0];
        long[] replies = new long[first.Replies.Length];
        foreach (ReplyTimeline timeline in timelines)
        {
            for (int i = 0; i < replies.Length; i++)
            {
                replies[i] += timeline.Replies[i];
            }
        }

        return new ReplyTimeline(first._start, first._intervalTicks, replies, first.MeasureStart, first.MeasureEnd);
    }

    /// <summary>Counts one reply that arrived at <paramref name="timestamp"/> (<see cref="Stopwatch"/> ticks).</summary>
    public void Count(long timestamp)
    {
        long index = (timestamp - _start) / _intervalTicks;
        if ((ulong)index < (ulong)Replies.Length)
        {
            Replies[index]++;
        }
    }

    private static TimeSpan Elapsed(long from, long to) => TimeSpan.FromSeconds((double)(to - from) / Stopwatch.Frequency);
}
