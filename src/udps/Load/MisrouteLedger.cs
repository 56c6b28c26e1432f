using System.Collections.Concurrent;

namespace UdpSessions.Cli.Load;

/// <summary>
/// Requests whose reply arrived on another session's socket. The session that sent such a request never sees its
/// reply; when the request times out it finds it here and settles it as misrouted instead of lost, so one misdirected
/// reply is one fault, not two. Misrouting is a server bug, so this is off the fast path: it is only read when non-empty.
/// </summary>
internal sealed class MisrouteLedger
{
    private readonly ConcurrentDictionary<(int Session, long Sequence), byte> _requests = new();
    private int _count;

    public void Record(int session, long sequence)
    {
        if (_requests.TryAdd((session, sequence), 0))
        {
            Interlocked.Increment(ref _count);
        }
    }

    /// <summary>True (once) if the reply to this request was seen on another session's socket.</summary>
    public bool TryClaim(int session, long sequence)
    {
        if (Volatile.Read(ref _count) == 0 || !_requests.TryRemove((session, sequence), out _))
        {
            return false;
        }

        Interlocked.Decrement(ref _count);
        return true;
    }
}
