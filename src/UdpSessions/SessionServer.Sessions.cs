using System.Buffers;
using System.Collections;
using System.Diagnostics.CodeAnalysis;
using UdpSessions.Internal;

namespace UdpSessions;

public sealed partial class SessionServer
{
    private LiveSessions? _sessions;

    /// <summary>
    /// The server's live sessions, readable from any thread at any time without a lock and without stopping the I/O
    /// threads. A session is listed from the moment its <see cref="SessionHandler.OnSessionAccepted"/> has returned
    /// until its close begins (before <see cref="SessionHandler.OnSessionClosing"/>). Enumeration is weakly consistent:
    /// every session listed for the whole enumeration appears exactly once; one accepted or closed meanwhile may or
    /// may not appear. <c>Count</c> is exact at the moment it is read.
    /// </summary>
    public IReadOnlyCollection<Session> Sessions => _sessions ??= new LiveSessions(_engine.Registry);

    /// <summary>
    /// Finds a live session by its <see cref="Session.Id"/> (a hash lookup, any thread). False when no session of this
    /// server has that id, or it has begun to close.
    /// </summary>
    public bool TryGetSession(long id, [NotNullWhen(true)] out Session? session)
    {
        bool found = _engine.Registry.TryGetListed(id, out Session listed);
        session = found ? listed : null;
        return found;
    }

    /// <summary>
    /// Sends <paramref name="datagram"/> to every live session (<see cref="Sessions"/>), from any thread, and returns
    /// how many it was sent, queued or handed over to. Each copy is counted like a <see cref="Session.Send"/>: in
    /// <see cref="ServerStatistics.DatagramsSent"/> once it left, or as a refusal by cause
    /// (<see cref="ServerStatistics.SendsDroppedBufferFull"/>, <see cref="ServerStatistics.SendsDroppedSessionClosed"/>,
    /// <see cref="ServerStatistics.SendsDroppedOversized"/>, <see cref="ServerStatistics.SendsFailed"/>), and in each
    /// session's <see cref="Session.GetStatistics"/>.
    /// </summary>
    /// <remarks>
    /// On the epoll engine, called on one of the server's I/O threads (a handler callback, posted work, a session
    /// timer), every copy goes into that thread's send batch, which leaves before the thread waits again: sessions
    /// served through the listeners in one sendmmsg per batch of up to 256, sessions with a socket of their own one
    /// datagram per socket. Called from any other thread, the sessions are split by I/O thread and each thread is
    /// handed one work item that sends its share the same way, after the work already queued there; the call returns
    /// without waiting for it. Other engines send each copy directly on the calling thread.
    /// </remarks>
    public int Broadcast(ReadOnlySpan<byte> datagram) => Broadcast(datagram, except: null);

    /// <summary>Sends <paramref name="datagram"/> to every live session but <paramref name="except"/>; see <see cref="Broadcast(ReadOnlySpan{byte})"/>.</summary>
    public int Broadcast(ReadOnlySpan<byte> datagram, Session? except)
    {
        SessionRegistry registry = _engine.Registry;
        Session[] sessions = ArrayPool<Session>.Shared.Rent(Math.Max(16, registry.ListedCount + 16));
        int count = 0;
        try
        {
            foreach (Session session in registry.Listed)
            {
                if (count == sessions.Length)
                {
                    Session[] larger = ArrayPool<Session>.Shared.Rent(sessions.Length * 2);
                    sessions.AsSpan().CopyTo(larger);
                    ArrayPool<Session>.Shared.Return(sessions, clearArray: true);
                    sessions = larger;
                }

                sessions[count++] = session;
            }

            return Broadcaster.Send(sessions.AsSpan(0, count), datagram, except);
        }
        finally
        {
            ArrayPool<Session>.Shared.Return(sessions, clearArray: true);
        }
    }

    /// <summary>The registry's listed sessions as a collection.</summary>
    private sealed class LiveSessions(SessionRegistry registry) : IReadOnlyCollection<Session>
    {
        public int Count => registry.ListedCount;

        public IEnumerator<Session> GetEnumerator() => registry.Listed.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
