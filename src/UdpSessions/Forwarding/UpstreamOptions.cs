using System.Net;

namespace UdpSessions;

/// <summary>One server a <see cref="UdpForwarder"/> forwards to.</summary>
public sealed class UpstreamOptions
{
    /// <summary>Creates an upstream at <paramref name="endPoint"/> with weight 1.</summary>
    public UpstreamOptions(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        EndPoint = endPoint;
    }

    /// <summary>The upstream's address and port. It also names the upstream on the hash ring, in logs and in metrics.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>
    /// Relative share of new sessions (consistent hashing: points on the ring) or of datagrams (round robin). 1 to 1,000.
    /// Default: 1.
    /// </summary>
    public int Weight { get; init; } = 1;

    /// <inheritdoc />
    public override string ToString() => Weight == 1 ? EndPoint.ToString() : $"{EndPoint} (weight {Weight})";
}
