using System.Net;
using UdpSessions.Dtls;

namespace UdpSessions.Cli.Load;

/// <summary>What a <see cref="LoadClient"/> run does. Durations are phases of one run: warm-up, measurement, then the drain.</summary>
internal sealed class LoadClientOptions
{
    /// <summary>The largest UDP payload over IPv4.</summary>
    public const int MaxDatagramSize = 65_507;

    /// <summary>The server to load. Must be a loopback address unless <see cref="AllowRemoteTarget"/> is set.</summary>
    public required IPEndPoint Target { get; init; }

    /// <summary>
    /// Guards against loading a machine by accident: a load generator pointed at a typo is a denial of service.
    /// </summary>
    public bool AllowRemoteTarget { get; init; }

    /// <summary>Client sessions, each one socket with its own source port.</summary>
    public int Sessions { get; init; } = 200;

    /// <summary>Requests in flight per session (closed loop: a reply releases the next request).</summary>
    public int Window { get; init; } = 4;

    /// <summary>Bytes per datagram, header included.</summary>
    public int DatagramSize { get; init; } = 64;

    /// <summary>Traffic before measuring; sessions start spread over its first half so the server sees a ramp, not a burst.</summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long rates and latency are measured.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(8);

    /// <summary>A request not answered this long after it was sent counts as lost; also the longest drain after sending stops.</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Open loop: total requests per second over all sessions, sent on schedule whatever the replies do, and stamped
    /// with the time they were due so a stalled server shows as latency (no coordinated omission). Null: closed loop.
    /// </summary>
    public double? Rate { get; init; }

    /// <summary>Churn: each session sends this many requests, then its socket is closed and a new one takes its place.</summary>
    public int? Churn { get; init; }

    /// <summary>Optional: samples the server's CPU time and allocations at the start and end of the measured phase.</summary>
    public ServerProbe? Probe { get; init; }

    /// <summary>DTLS: every session handshakes first (see <see cref="DtlsSessionOpener"/>) and its datagrams travel as records. Null: plain UDP.</summary>
    public DtlsClientOptions? Dtls { get; init; }

    /// <summary>DTLS: handshakes run in parallel while the sessions open.</summary>
    public int HandshakeThreads { get; init; } = 4;

    /// <summary>Client threads, each serving a fixed share of the sessions.</summary>
    public int Threads { get; init; } = Math.Min(2, Environment.ProcessorCount);

    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Target, nameof(Target));
        if (!AllowRemoteTarget && !IPAddress.IsLoopback(Target.Address))
        {
            throw new ArgumentException($"Target {Target} is not a loopback address.", nameof(Target));
        }

        Require(Sessions >= 1, nameof(Sessions), "must be at least 1");
        Require(Window >= 1, nameof(Window), "must be at least 1");
        Require(DatagramSize is >= DatagramHeader.Size and <= MaxDatagramSize, nameof(DatagramSize),
            $"must be between {DatagramHeader.Size} and {MaxDatagramSize}");
        Require(WarmUp >= TimeSpan.Zero, nameof(WarmUp), "must not be negative");
        Require(Duration > TimeSpan.Zero, nameof(Duration), "must be positive");
        Require(ReplyTimeout > TimeSpan.Zero, nameof(ReplyTimeout), "must be positive");
        Require(Threads >= 1, nameof(Threads), "must be at least 1");
        Require(Rate is null or (> 0 and <= 100_000_000), nameof(Rate), "must be between 0 and 100,000,000 per second");
        Require(Churn is null or >= 1, nameof(Churn), "must be at least 1");
        Require(Dtls is null || Churn is null, nameof(Churn), "cannot be combined with DTLS (each replacement would need a handshake)");
        Require(Dtls is null || DatagramSize <= 16_384, nameof(DatagramSize), "must be at most 16384 with DTLS (one record)");
        Require(HandshakeThreads >= 1, nameof(HandshakeThreads), "must be at least 1");
    }

    private static void Require(bool condition, string name, string problem)
    {
        if (!condition)
        {
            throw new ArgumentException($"{name} {problem}.", name);
        }
    }
}
