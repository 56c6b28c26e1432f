using System.Net;
using UdpSessions.Forwarding;

namespace UdpSessions;

/// <summary>A snapshot of one upstream of a <see cref="UdpForwarder"/>: health, sessions and traffic.</summary>
public sealed class UpstreamStatistics
{
    private readonly long[] _healthChanges;

    internal UpstreamStatistics(Upstream upstream)
    {
        EndPoint = upstream.EndPoint;
        Weight = upstream.Weight;
        IsHealthy = upstream.IsHealthy;
        ActiveSessions = upstream.ActiveSessions;
        foreach (UpstreamCounters c in upstream.LoopCounters.Append(upstream.SharedCounters))
        {
            Requests += Volatile.Read(ref c.Requests);
            RequestBytes += Volatile.Read(ref c.RequestBytes);
            Responses += Volatile.Read(ref c.Responses);
            ResponseBytes += Volatile.Read(ref c.ResponseBytes);
        }

        _healthChanges = [.. Enum.GetValues<UpstreamHealthChange>().Select(upstream.GetHealthChanges)];
    }

    /// <summary>The upstream's address and port (its name in logs and metrics).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Its weight.</summary>
    public int Weight { get; }

    /// <summary>False while a health check says it is down (it then gets no new sessions).</summary>
    public bool IsHealthy { get; }

    /// <summary>Client sessions bound to it now (consistent hashing; round robin binds none).</summary>
    public long ActiveSessions { get; }

    /// <summary>Client datagrams sent to it.</summary>
    public long Requests { get; }

    /// <summary>Payload bytes of <see cref="Requests"/> (without PROXY headers).</summary>
    public long RequestBytes { get; }

    /// <summary>Its datagrams forwarded to clients.</summary>
    public long Responses { get; }

    /// <summary>Payload bytes of <see cref="Responses"/>.</summary>
    public long ResponseBytes { get; }

    /// <summary>How often its health changed for <paramref name="change"/>.</summary>
    public long GetHealthChanges(UpstreamHealthChange change) => _healthChanges[(int)change];
}
