namespace UdpSessions;

/// <summary>
/// Active health checks: every <see cref="Interval"/> each upstream is sent <see cref="Payload"/> from a socket of the
/// forwarder's own, and is healthy while it answers within <see cref="Timeout"/> (with <see cref="ExpectedReply"/>, when
/// set). One failed probe marks it unhealthy, one answered probe healthy again.
/// </summary>
public sealed class UpstreamProbeOptions
{
    /// <summary>The probe datagram, e.g. a DNS query for a name the upstream serves. Must not be empty.</summary>
    public byte[] Payload { get; set; } = [];

    /// <summary>The reply a healthy upstream gives (compared byte for byte), or null: any reply will do. Default: null.</summary>
    public byte[]? ExpectedReply { get; set; }

    /// <summary>Time between probes of one upstream. Default: 5 s.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a probe waits for its reply. Default: 1 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(1);
}
