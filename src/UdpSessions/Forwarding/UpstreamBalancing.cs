namespace UdpSessions;

/// <summary>How a <see cref="UdpForwarder"/> spreads traffic over its upstreams.</summary>
public enum UpstreamBalancing
{
    /// <summary>
    /// Sticky: each client session is placed on an upstream by a consistent hash of its address and port (a ring with
    /// 160 points per unit of weight), and keeps it for its whole life unless the upstream becomes unhealthy or is
    /// removed. Adding or removing an upstream moves only that upstream's share of new sessions.
    /// </summary>
    ConsistentHash = 0,

    /// <summary>
    /// Per datagram, weighted round robin (smooth, as nginx does it) over the healthy upstreams, for stateless protocols.
    /// Each client session sends from one unconnected socket and takes replies from any of the upstreams.
    /// </summary>
    RoundRobin = 1,
}
