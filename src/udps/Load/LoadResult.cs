using HdrHistogram;

namespace UdpSessions.Cli.Load;

/// <summary>The outcome of a <see cref="LoadClient"/> run: counts over the whole run, rates and latency over the measured phase.</summary>
internal sealed class LoadResult
{
    public LoadResult(LoadClientOptions options, LoadTally total, ReplyTimeline timeline, TimeSpan measured, long sessionsOpened, ServerUsage? server, bool cancelled)
    {
        Timeline = timeline;
        Target = options.Target.ToString();
        Sessions = options.Sessions;
        Window = options.Window;
        DatagramSize = options.DatagramSize;
        Rate = options.Rate;
        Churn = options.Churn;
        Threads = options.Threads;
        Sent = total.Sent;
        Replies = total.Replies;
        Lost = total.Lost;
        Late = total.Late;
        Corrupt = total.Corrupt;
        Misrouted = total.WrongSession;
        Duplicates = total.Duplicates;
        SendErrors = total.SendErrors;
        ReceiveErrors = total.ReceiveErrors;
        OpenErrors = total.OpenErrors;
        InFlightAtStop = total.InFlightAtStop;
        MeasuredReplies = total.MeasuredReplies;
        SessionsOpened = sessionsOpened;
        SessionsAccepted = total.SessionsAccepted;
        MeasuredSessionsAccepted = total.MeasuredSessionsAccepted;
        MeasuredDuration = measured;
        Latency = total.Latency;
        Server = server;
        Cancelled = cancelled;
    }

    public string Target { get; }

    public int Sessions { get; }

    public int Window { get; }

    public int DatagramSize { get; }

    public double? Rate { get; }

    public int? Churn { get; }

    public int Threads { get; }

    public long Sent { get; }

    public long Replies { get; }

    public long Lost { get; }

    public long Late { get; }

    public long Corrupt { get; }

    /// <summary>Intact replies that arrived on another session's socket.</summary>
    public long Misrouted { get; }

    public long Duplicates { get; }

    public long SendErrors { get; }

    public long ReceiveErrors { get; }

    public long OpenErrors { get; }

    public long InFlightAtStop { get; }

    public long MeasuredReplies { get; }

    public long SessionsOpened { get; }

    public long SessionsAccepted { get; }

    public long MeasuredSessionsAccepted { get; }

    public TimeSpan MeasuredDuration { get; }

    /// <summary>Round-trip latency of the replies received in the measured phase, in microseconds.</summary>
    public HistogramBase Latency { get; }

    /// <summary>Replies per interval over the whole run (warm-up and drain included).</summary>
    public ReplyTimeline Timeline { get; }

    /// <summary>The measured phase's latency percentile distribution.</summary>
    public IReadOnlyList<LatencyPoint> LatencyDistribution => Load.LatencyDistribution.Of(Latency);

    /// <summary>The server's CPU and allocations over the measured phase, when a probe was given.</summary>
    public ServerUsage? Server { get; }

    public bool Cancelled { get; }

    /// <summary>DTLS: the handshakes that opened the sessions, or null for plain UDP.</summary>
    public HandshakePhase? Handshakes { get; init; }

    /// <summary>Replies per second in the measured phase: the round-trip rate.</summary>
    public double RepliesPerSecond => PerSecond(MeasuredReplies);

    /// <summary>Sessions whose first reply arrived in the measured phase, per second (churn: accepted sessions/s).</summary>
    public double SessionsAcceptedPerSecond => PerSecond(MeasuredSessionsAccepted);

    public double? ServerCpuMicrosPerReply => Server is null || MeasuredReplies == 0 ? null : Server.CpuSeconds * 1e6 / MeasuredReplies;

    /// <summary>Server CPU over the window divided by the sessions accepted in it (their datagrams' echo included).</summary>
    public double? ServerCpuMicrosPerSession =>
        Server is null || MeasuredSessionsAccepted == 0 ? null : Server.CpuSeconds * 1e6 / MeasuredSessionsAccepted;

    public double? AllocatedBytesPerReply =>
        Server?.AllocatedBytes is long bytes && MeasuredReplies > 0 ? (double)bytes / MeasuredReplies : null;

    public long LatencyPercentileMicros(double percentile) => Latency.TotalCount == 0 ? 0 : Latency.GetValueAtPercentile(percentile);

    public long LatencyMaxMicros => Latency.TotalCount == 0 ? 0 : Latency.GetMaxValue();

    /// <summary>Lost requests as a share of those sent, in percent.</summary>
    public double LossPercent => Sent == 0 ? 0 : 100.0 * Lost / Sent;

    /// <summary>Replies that were wrong, not just missing: damaged, delivered to another session, or delivered twice.</summary>
    public long IntegrityErrors => Corrupt + Misrouted + Duplicates;

    /// <summary>Every datagram the echo failed to return exactly once, intact, to its sender.</summary>
    public long Failures => Lost + IntegrityErrors;

    private double PerSecond(long count) => MeasuredDuration > TimeSpan.Zero ? count / MeasuredDuration.TotalSeconds : 0;
}
