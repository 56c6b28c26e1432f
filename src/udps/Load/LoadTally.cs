using System.Diagnostics;
using HdrHistogram;

namespace UdpSessions.Cli.Load;

/// <summary>
/// The counters of one client thread. Each thread owns its tally, so counting needs no synchronization; the tallies
/// are added up once the threads have finished.
/// </summary>
internal sealed class LoadTally
{
    /// <summary>Latencies above this are recorded as this (one minute, in microseconds).</summary>
    public const long HighestLatencyMicros = 60_000_000;

    public LongHistogram Latency { get; } = new(1, HighestLatencyMicros, 3);

    public long Sent { get; private set; }

    /// <summary>Requests answered, late ones included.</summary>
    public long Replies { get; private set; }

    public long MeasuredReplies { get; private set; }

    /// <summary>Requests unanswered after the reply timeout, less those answered later.</summary>
    public long Lost { get; private set; }

    /// <summary>Answered, but after the reply timeout.</summary>
    public long Late { get; private set; }

    public long Corrupt { get; private set; }

    public long WrongSession { get; private set; }

    public long Duplicates { get; private set; }

    /// <summary>Sends the socket refused (full buffer, error); the request is retried, not counted as sent.</summary>
    public long SendErrors { get; private set; }

    public long ReceiveErrors { get; private set; }

    /// <summary>Sessions that got their first reply: the server accepted them.</summary>
    public long SessionsAccepted { get; private set; }

    public long MeasuredSessionsAccepted { get; private set; }

    /// <summary>Churn: replacement sockets that could not be opened (fd or port exhaustion); retried.</summary>
    public long OpenErrors { get; private set; }

    /// <summary>Requests still unanswered when the run was cancelled: neither lost nor answered.</summary>
    public long InFlightAtStop { get; private set; }

    public void CountSent() => Sent++;

    public void CountSendError() => SendErrors++;

    public void CountReceiveError() => ReceiveErrors++;

    public void CountExpired(long count) => Lost += count;

    public void CountSessionAccepted(bool measuring)
    {
        SessionsAccepted++;
        if (measuring)
        {
            MeasuredSessionsAccepted++;
        }
    }

    public void CountOpenError() => OpenErrors++;

    public void CountInFlightAtStop(long count) => InFlightAtStop += count;

    public void Count(ReplyKind kind, long latencyTicks, bool measuring)
    {
        switch (kind)
        {
            case ReplyKind.Answered or ReplyKind.Late:
                Replies++;
                if (kind == ReplyKind.Late)
                {
                    // It was counted lost when it expired; it turned out only slow.
                    Late++;
                    Lost--;
                }

                if (measuring)
                {
                    MeasuredReplies++;
                    Latency.RecordValue(Math.Clamp(latencyTicks * 1_000_000 / Stopwatch.Frequency, 0, HighestLatencyMicros));
                }

                break;
            case ReplyKind.Corrupt:
                Corrupt++;
                break;
            case ReplyKind.WrongSession:
                WrongSession++;
                break;
            case ReplyKind.Duplicate:
                Duplicates++;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    /// <summary>Adds <paramref name="other"/>'s counters; its histogram only when <paramref name="withLatency"/> (it must not be written meanwhile).</summary>
    public void Add(LoadTally other, bool withLatency = true)
    {
        if (withLatency)
        {
            Latency.Add(other.Latency);
        }

        Sent += other.Sent;
        Replies += other.Replies;
        MeasuredReplies += other.MeasuredReplies;
        Lost += other.Lost;
        Late += other.Late;
        Corrupt += other.Corrupt;
        WrongSession += other.WrongSession;
        Duplicates += other.Duplicates;
        SendErrors += other.SendErrors;
        ReceiveErrors += other.ReceiveErrors;
        SessionsAccepted += other.SessionsAccepted;
        MeasuredSessionsAccepted += other.MeasuredSessionsAccepted;
        OpenErrors += other.OpenErrors;
        InFlightAtStop += other.InFlightAtStop;
    }
}
