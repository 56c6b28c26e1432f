namespace UdpSessions.Forwarding;

/// <summary>
/// Counters of the forwarder. One instance per I/O loop is written by that loop's thread alone with plain increments
/// (the epoll path: requests and replies are both handled there); one more, <see cref="ForwardingHandler.SharedCounters"/>,
/// takes the increments of other threads (replies read by .NET sockets on the thread pool) with interlocked adds.
/// </summary>
internal sealed class ForwardCounters
{
    public long Requests;
    public long RequestBytes;
    public long Responses; // read from upstream sockets (every one: forwarded or dropped)
    public long ResponseBytes;
    public long ResponsesForwarded;
    public long ResponseBytesForwarded;
    public long UpstreamSessionsOpened;
    public long UpstreamSessionsClosed;
    public long SessionsCompleted;
    public long SessionsRenewed;
    public long UpstreamIdleClosed;
    public long SentToUnhealthy; // no healthy upstream was left: sent to the chosen one anyway
    public long DatagramsHeld; // held while no fd was free for the upstream socket
    public readonly long[] Dropped = new long[Enum.GetValues<ForwardDropReason>().Length];
    public readonly long[] Moved = new long[2]; // [0] upstream unhealthy, [1] upstream removed

    /// <summary>Adds to a counter: a plain add on the loop that owns these counters, an interlocked one elsewhere.</summary>
    public static void Add(ref long counter, long value, bool shared)
    {
        if (shared)
        {
            Interlocked.Add(ref counter, value);
        }
        else
        {
            counter += value;
        }
    }
}

/// <summary>Traffic of one upstream, per I/O loop (plain increments) plus one shared instance for other threads.</summary>
internal sealed class UpstreamCounters
{
    public long Requests;
    public long RequestBytes;
    public long Responses;
    public long ResponseBytes;
}
