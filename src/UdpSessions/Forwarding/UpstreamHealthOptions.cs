namespace UdpSessions;

/// <summary>
/// How a <see cref="UdpForwarder"/> decides that an upstream is unhealthy. Passive checks are always on for ICMP: an
/// upstream whose socket reports "port unreachable" is unhealthy at once. An unhealthy upstream gets no new sessions,
/// and its sessions move to another upstream with their next datagram; every change is counted and logged.
/// </summary>
public sealed class UpstreamHealthOptions
{
    /// <summary>
    /// Passive "no reply" check: an upstream that has not answered anything for this long while requests to it were
    /// outstanding is unhealthy. For request/reply protocols; leave it off for one-way traffic.
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> turns it off. Default: off.
    /// </summary>
    public TimeSpan UnansweredWindow { get; set; } = System.Threading.Timeout.InfiniteTimeSpan;

    /// <summary>
    /// Without probes, an upstream found unhealthy by a passive check is tried again (counted healthy) after this long.
    /// With probes only a probe brings it back. Default: 10 s.
    /// </summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Active probes, or null for passive checks only. Default: null.</summary>
    public UpstreamProbeOptions? Probe { get; set; }
}
