using System.Collections;
using UdpSessions.Internal;

namespace UdpSessions;

/// <summary>
/// A set of sessions that receive the same datagrams: a room, a match, the subscribers of a topic. Add and remove
/// from any thread; a session leaves every group by itself when it starts closing (before
/// <see cref="SessionHandler.OnSessionClosing"/>), so a group never holds a closed session for long and never keeps
/// one alive. <see cref="Send(ReadOnlySpan{byte})"/> sends one datagram to every member in one call, batched where the
/// kernel allows (see <see cref="SessionServer.Broadcast(ReadOnlySpan{byte})"/>).
/// </summary>
/// <remarks>
/// Members are kept in an array that is replaced on every change, so sending and enumerating read a stable snapshot
/// without a lock or an allocation, while adding and removing cost O(members): meant for groups that are sent to far
/// more often than they change (thousands of members are fine). Sessions of several servers may share a group.
/// </remarks>
public sealed class SessionGroup : IReadOnlyCollection<Session>
{
    private readonly Lock _gate = new();
    private Session[] _members = [];

    /// <summary>Members now.</summary>
    public int Count => Volatile.Read(ref _members).Length;

    /// <summary>
    /// Adds <paramref name="session"/>. False when it is a member already or no longer open (a closing session is
    /// never added). Safe from any thread.
    /// </summary>
    public bool Add(Session session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.Join(this);
    }

    /// <summary>Removes <paramref name="session"/>; false when it was not a member. Safe from any thread.</summary>
    public bool Remove(Session session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.Leave(this);
    }

    /// <summary>True when <paramref name="session"/> is a member now.</summary>
    public bool Contains(Session session) => Array.IndexOf(Volatile.Read(ref _members), session) >= 0;

    /// <summary>Removes every member.</summary>
    public void Clear()
    {
        foreach (Session member in Volatile.Read(ref _members))
        {
            member.Leave(this);
        }
    }

    /// <summary>
    /// Sends <paramref name="datagram"/> to every member, from any thread. Returns how many members it was sent,
    /// queued or handed over to; refusals are counted per cause in the servers' statistics (and each session's
    /// <see cref="SessionStatistics.SendsRefused"/>). See <see cref="SessionServer.Broadcast(ReadOnlySpan{byte})"/> for
    /// how it is batched.
    /// </summary>
    public int Send(ReadOnlySpan<byte> datagram) => Broadcaster.Send(Volatile.Read(ref _members), datagram, except: null);

    /// <summary>Sends <paramref name="datagram"/> to every member but <paramref name="except"/> (typically the one it came from).</summary>
    public int Send(ReadOnlySpan<byte> datagram, Session? except) => Broadcaster.Send(Volatile.Read(ref _members), datagram, except);

    /// <summary>Enumerates the members as they were when enumeration started (no lock, no allocation).</summary>
    public Enumerator GetEnumerator() => new(Volatile.Read(ref _members));

    IEnumerator<Session> IEnumerable<Session>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Called with the member's membership lock held.</summary>
    internal bool AddMember(Session session)
    {
        lock (_gate)
        {
            Session[] members = _members;
            if (Array.IndexOf(members, session) >= 0)
            {
                return false;
            }

            Session[] grown = new Session[members.Length + 1];
            members.CopyTo(grown, 0);
            grown[^1] = session;
            Volatile.Write(ref _members, grown);
            return true;
        }
    }

    /// <summary>Called with the member's membership lock held.</summary>
    internal void RemoveMember(Session session)
    {
        lock (_gate)
        {
            Session[] members = _members;
            int index = Array.IndexOf(members, session);
            if (index < 0)
            {
                return;
            }

            Session[] shrunk = new Session[members.Length - 1];
            Array.Copy(members, 0, shrunk, 0, index);
            Array.Copy(members, index + 1, shrunk, index, members.Length - index - 1);
            Volatile.Write(ref _members, shrunk);
        }
    }

    /// <summary>Enumerates a snapshot of the members.</summary>
    public struct Enumerator : IEnumerator<Session>
    {
        private readonly Session[] _snapshot;
        private int _index;

        internal Enumerator(Session[] snapshot)
        {
            _snapshot = snapshot;
            _index = -1;
        }

        /// <inheritdoc />
        public readonly Session Current => _snapshot[_index];

        readonly object IEnumerator.Current => Current;

        /// <inheritdoc />
        public bool MoveNext() => ++_index < _snapshot.Length;

        /// <inheritdoc />
        public void Reset() => _index = -1;

        /// <inheritdoc />
        public readonly void Dispose()
        {
        }
    }
}
