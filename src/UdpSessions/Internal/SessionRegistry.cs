using System.Collections.Concurrent;

namespace UdpSessions.Internal;

/// <summary>
/// The sessions of one server: the address map (used for the listener's traffic, the accept race and sessions
/// without a socket), the slot table (used for epoll events) and the session count against the limit.
/// </summary>
internal sealed class SessionRegistry(int maxSessions)
{
    private readonly ConcurrentDictionary<SessionKey, Session> _byKey = new();

    // The sessions the application sees (SessionServer.Sessions): from the end of OnSessionAccepted to the start of
    // the close, by id. Written on the accept and close paths only; the datagram path never touches it.
    private readonly ConcurrentDictionary<long, Session> _listed = new();
    private int _active;
    private int _listedCount;

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
        if (_listed.TryRemove(session.Id, out _))
        {
            Interlocked.Decrement(ref _listedCount);
        }

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

    /// <summary>Makes an accepted session visible to the application (on its loop, after OnSessionAccepted, while it is open).</summary>
    public void List(Session session)
    {
        if (_listed.TryAdd(session.Id, session))
        {
            Interlocked.Increment(ref _listedCount);
        }
    }

    public int ListedCount => Volatile.Read(ref _listedCount);

    public bool TryGetListed(long id, out Session session) => _listed.TryGetValue(id, out session!);

    /// <summary>The listed sessions, read without a lock while sessions come and go (see <see cref="SessionServer.Sessions"/>).</summary>
    public IEnumerable<Session> Listed
    {
        get
        {
            foreach (KeyValuePair<long, Session> entry in _listed)
            {
                yield return entry.Value;
            }
        }
    }

    public enum AddResult
    {
        Added,
        Exists,
        LimitReached,
    }
}
