namespace UdpSessions;

/// <summary>Why an upstream's health changed (see <see cref="UpstreamStatistics.GetHealthChanges"/>).</summary>
public enum UpstreamHealthChange
{
    /// <summary>Unhealthy: its socket reported ICMP port unreachable (ECONNREFUSED).</summary>
    IcmpUnreachable = 0,

    /// <summary>Unhealthy: nothing answered within <see cref="UpstreamHealthOptions.UnansweredWindow"/>.</summary>
    NoReply,

    /// <summary>Unhealthy: an active probe got no (or the wrong) reply.</summary>
    ProbeFailed,

    /// <summary>Healthy: an active probe was answered.</summary>
    ProbeAnswered,

    /// <summary>Healthy: <see cref="UpstreamHealthOptions.RetryAfter"/> passed since a passive check failed (no probes).</summary>
    RetryElapsed,
}
