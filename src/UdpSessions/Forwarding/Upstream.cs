using System.Net;
using UdpSessions.Internal;

namespace UdpSessions.Forwarding;

/// <summary>
/// One upstream of a running forwarder: its address, weight, health and counters. Health is one word read by every
/// forwarded datagram (a session checks its upstream is still usable) and changed rarely, with a compare-and-swap, so
/// each change is counted and logged exactly once.
/// </summary>
internal sealed class Upstream
{
    private const int Healthy = 0;
    private const int Unhealthy = 1;
    private const int Removed = 2;

    private readonly long[] _healthChanges = new long[Enum.GetValues<UpstreamHealthChange>().Length];
    private int _state;
    private long _unhealthySince;
    private long _lastReplyAt;
    private long _firstUnansweredAt;
    private long _activeSessions;

    public Upstream(UpstreamOptions options, int loops)
    {
        Options = options;
        EndPoint = options.EndPoint;
        Address = PeerAddress.FromIPEndPoint(options.EndPoint);
        Name = options.EndPoint.ToString();
        LoopCounters = [.. Enumerable.Range(0, loops).Select(_ => new UpstreamCounters())];
    }

    public UpstreamOptions Options { get; }

    public IPEndPoint EndPoint { get; }

    public PeerAddress Address { get; }

    public int Weight => Options.Weight;

    /// <summary>"host:port": its name on the hash ring, in logs and in metrics.</summary>
    public string Name { get; }

    public UpstreamCounters[] LoopCounters { get; }

    public UpstreamCounters SharedCounters { get; } = new();

    /// <summary>Healthy and still in the set: new sessions may go here and bound ones stay.</summary>
    public bool IsUsable => Volatile.Read(ref _state) == Healthy;

    public bool IsHealthy => Volatile.Read(ref _state) != Unhealthy;

    public bool IsRemoved => Volatile.Read(ref _state) == Removed;

    /// <summary>Milliseconds (Environment.TickCount64) since it became unhealthy; meaningless while healthy.</summary>
    public long UnhealthySince => Volatile.Read(ref _unhealthySince);

    public long ActiveSessions => Volatile.Read(ref _activeSessions);

    public long GetHealthChanges(UpstreamHealthChange change) => Volatile.Read(ref _healthChanges[(int)change]);

    /// <summary>Healthy → unhealthy; true (and counted) only for the caller that made the change.</summary>
    public bool TryMarkUnhealthy(UpstreamHealthChange cause)
    {
        Volatile.Write(ref _unhealthySince, Environment.TickCount64);
        if (Interlocked.CompareExchange(ref _state, Unhealthy, Healthy) != Healthy)
        {
            return false;
        }

        Interlocked.Increment(ref _healthChanges[(int)cause]);
        return true;
    }

    /// <summary>Unhealthy → healthy; true (and counted) only for the caller that made the change.</summary>
    public bool TryMarkHealthy(UpstreamHealthChange cause)
    {
        Volatile.Write(ref _firstUnansweredAt, 0); // the "no reply" window starts afresh
        if (Interlocked.CompareExchange(ref _state, Healthy, Unhealthy) != Unhealthy)
        {
            return false;
        }

        Interlocked.Increment(ref _healthChanges[(int)cause]);
        return true;
    }

    /// <summary>Taken out of the set: its sessions move with their next datagram; never healthy again.</summary>
    public void MarkRemoved() => Volatile.Write(ref _state, Removed);

    public void SessionOpened() => Interlocked.Increment(ref _activeSessions);

    public void SessionClosed() => Interlocked.Decrement(ref _activeSessions);

    /// <summary>A request went out (passive "no reply" check): starts the window unless one is already open.</summary>
    public void NoteRequest(long now)
    {
        if (Volatile.Read(ref _firstUnansweredAt) == 0)
        {
            Interlocked.CompareExchange(ref _firstUnansweredAt, now | 1, 0);
        }
    }

    /// <summary>A reply came: everything sent before is answered as far as the "no reply" check is concerned.</summary>
    public void NoteReply(long now)
    {
        if (Volatile.Read(ref _firstUnansweredAt) != 0)
        {
            Volatile.Write(ref _firstUnansweredAt, 0);
        }

        if (Volatile.Read(ref _lastReplyAt) != now)
        {
            Volatile.Write(ref _lastReplyAt, now);
        }
    }

    /// <summary>True when requests have waited for any reply for at least <paramref name="window"/> milliseconds.</summary>
    public bool IsUnansweredFor(long now, long window)
    {
        long first = Volatile.Read(ref _firstUnansweredAt);
        return first != 0 && now - first >= window;
    }

    public override string ToString() => Name;
}
