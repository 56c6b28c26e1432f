using HdrHistogram;

namespace UdpSessions.Cli.Load;

/// <summary>The outcome of a <see cref="LoadClient"/> run: counts over the whole run, rate and latency over the measured phase.</summary>
internal sealed class LoadResult
{
    public LoadResult(LoadClientOptions options, LoadTally total, TimeSpan measured, bool cancelled)
    {
        Sessions = options.Sessions;
        Window = options.Window;
        DatagramSize = options.DatagramSize;
        Sent = total.Sent;
        Replies = total.Replies;
        Lost = total.Lost;
        Late = total.Late;
        Corrupt = total.Corrupt;
        WrongSession = total.WrongSession;
        Duplicates = total.Duplicates;
        SendErrors = total.SendErrors;
        ReceiveErrors = total.ReceiveErrors;
        MeasuredReplies = total.MeasuredReplies;
        MeasuredDuration = measured;
        Latency = total.Latency;
        Cancelled = cancelled;
    }

    public int Sessions { get; }

    public int Window { get; }

    public int DatagramSize { get; }

    public long Sent { get; }

    public long Replies { get; }

    public long Lost { get; }

    public long Late { get; }

    public long Corrupt { get; }

    public long WrongSession { get; }

    public long Duplicates { get; }

    public long SendErrors { get; }

    public long ReceiveErrors { get; }

    public long MeasuredReplies { get; }

    public TimeSpan MeasuredDuration { get; }

    /// <summary>Round-trip latency of the replies received in the measured phase, in microseconds.</summary>
    public HistogramBase Latency { get; }

    public bool Cancelled { get; }

    /// <summary>Replies per second in the measured phase: the round-trip rate.</summary>
    public double RepliesPerSecond => MeasuredDuration > TimeSpan.Zero ? MeasuredReplies / MeasuredDuration.TotalSeconds : 0;

    public long LatencyPercentileMicros(double percentile) => Latency.TotalCount == 0 ? 0 : Latency.GetValueAtPercentile(percentile);

    public long LatencyMaxMicros => Latency.TotalCount == 0 ? 0 : Latency.GetMaxValue();

    /// <summary>Every datagram the echo failed to return exactly once, intact, to its sender.</summary>
    public long Failures => Lost + Corrupt + WrongSession + Duplicates;
}
