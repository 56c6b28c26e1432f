using System.Collections.Concurrent;

namespace UdpSessions.Internal;

/// <summary>
/// The sessions of one server: the address map (used for the listener's traffic, the accept race and sessions
/// without a socket), the slot table (used for epoll events) and the session count against the limit.
/// </summary>
internal sealed class SessionRegistry(int maxSessions)
{
    private readonly ConcurrentDictionary<PeerAddress, Session> _byPeer = new();
    private int _active;

    public SessionTable Table { get; } = new(maxSessions);

    public int ActiveCount => Volatile.Read(ref _active);

    public bool TryFind(in PeerAddress peer, out Session session) => _byPeer.TryGetValue(peer, out session!);

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

        if (!_byPeer.TryAdd(session.Peer, session))
        {
            Interlocked.Decrement(ref _active);
            return _byPeer.TryGetValue(session.Peer, out existing) ? AddResult.Exists : TryAdd(session, out existing);
        }

        existing = null;
        Table.Add(session);
        return AddResult.Added;
    }

    public void Remove(Session session)
    {
        _byPeer.TryRemove(new KeyValuePair<PeerAddress, Session>(session.Peer, session));
        Table.Remove(session);
        Interlocked.Decrement(ref _active);
    }

    /// <summary>
    /// Re-keys <paramref name="session"/> from <paramref name="from"/> to <paramref name="to"/> (its peer moved, see
    /// UdpEngine.MigrateSession); false when another session already holds <paramref name="to"/>. Lookups in between
    /// find it under either address.
    /// </summary>
    public bool TryMove(Session session, in PeerAddress from, in PeerAddress to)
    {
        if (!_byPeer.TryAdd(to, session))
        {
            return false;
        }

        _byPeer.TryRemove(new KeyValuePair<PeerAddress, Session>(from, session));
        return true;
    }

    public Session[] Snapshot() => [.. _byPeer.Values];

    public enum AddResult
    {
        Added,
        Exists,
        LimitReached,
    }
}
