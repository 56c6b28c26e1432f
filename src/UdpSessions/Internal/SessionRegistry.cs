using System.Collections.Concurrent;

namespace UdpSessions.Internal;

/// <summary>
/// The sessions of one server: the address map (used for the listener's traffic, the accept race and sessions
/// without a socket), the slot table (used for epoll events) and the session count against the limit.
/// </summary>
internal sealed class SessionRegistry(int maxSessions)
{
    private readonly ConcurrentDictionary<SessionKey, Session> _byKey = new();
    private int _active;

    public SessionTable Table { get; } = new(maxSessions);

    public int ActiveCount => Volatile.Read(ref _active);

    public bool TryFind(in SessionKey key, out Session session) => _byKey.TryGetValue(key, out session!);

    public bool IsEmpty => Volatile.Read(ref _active) == 0;

    /// <summary>
    /// Adds a new session for its peer unless the limit is reached or another I/O thread accepted the same peer first
    /// (then <paramref name="existing"/> is that session).
    /// </summary>
    public AddResult TryAdd(Session session, out Session? existing)
    {
        if (Interlocked.Increment(ref _active) > maxSessions)
        {
            Interlocked.Decrement(ref _active);
            existing = null;
            return AddResult.LimitReached;
        }

        if (!_byKey.TryAdd(session.Key, session))
        {
            Interlocked.Decrement(ref _active);
            return _byKey.TryGetValue(session.Key, out existing) ? AddResult.Exists : TryAdd(session, out existing);
        }

        existing = null;
        Table.Add(session);
        return AddResult.Added;
    }

    public void Remove(Session session)
    {
        _byKey.TryRemove(new KeyValuePair<SessionKey, Session>(session.Key, session));
        Table.Remove(session);
        Interlocked.Decrement(ref _active);
    }

    /// <summary>
    /// Re-keys <paramref name="session"/> from <paramref name="from"/> to <paramref name="to"/> (its peer moved, see
    /// UdpEngine.MigrateSession); false when another session already holds <paramref name="to"/>. Lookups in between
    /// find it under either key.
    /// </summary>
    public bool TryMove(Session session, in SessionKey from, in SessionKey to)
    {
        if (!_byKey.TryAdd(to, session))
        {
            return false;
        }

        _byKey.TryRemove(new KeyValuePair<SessionKey, Session>(from, session));
        return true;
    }

    public Session[] Snapshot() => [.. _byKey.Values];

    public enum AddResult
    {
        Added,
        Exists,
        LimitReached,
    }
}
