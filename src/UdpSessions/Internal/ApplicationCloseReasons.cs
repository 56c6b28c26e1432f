using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace UdpSessions.Internal;

/// <summary>
/// How many sessions the application closed with each reason (<see cref="Session.Close(string)"/>). Counted on the
/// close path, never per datagram. The reasons become metric tags, so their number is bounded: once
/// <see cref="MaxReasons"/> are known, new ones are counted under <see cref="Other"/>.
/// </summary>
internal sealed class ApplicationCloseReasons
{
    public const int MaxReasons = 64;
    public const string Other = "other";

    private readonly ConcurrentDictionary<string, StrongBox<long>> _counts = new(StringComparer.Ordinal);

    public void Count(string reason)
    {
        if (!_counts.TryGetValue(reason, out StrongBox<long>? count))
        {
            count = _counts.Count < MaxReasons ? _counts.GetOrAdd(reason, _ => new StrongBox<long>()) : _counts.GetOrAdd(Other, _ => new StrongBox<long>());
        }

        Interlocked.Increment(ref count.Value);
    }

    public Dictionary<string, long> Snapshot()
    {
        var snapshot = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, StrongBox<long>> pair in _counts)
        {
            snapshot[pair.Key] = Volatile.Read(ref pair.Value.Value);
        }

        return snapshot;
    }
}
