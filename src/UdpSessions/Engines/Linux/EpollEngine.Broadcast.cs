using System.Buffers;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// One datagram to many sessions. On an I/O thread of this engine every copy goes into that thread's send batch (one
/// sendmmsg for each run of sessions on the listener). From any other thread the sessions are split by their I/O
/// thread and each thread gets one work item that sends its share through its own batch, instead of the caller making
/// one system call per session.
/// </summary>
internal sealed partial class EpollEngine
{
    public override int SendToMany(ReadOnlySpan<Session> sessions, ReadOnlySpan<byte> datagram, Session? except)
    {
        EpollLoop? current = EpollLoop.Current;
        if ((current is not null && current.Engine == this) || Stopping || _loops.Length == 0 || datagram.Length > MaxSendSize)
        {
            return base.SendToMany(sessions, datagram, except); // here, in this thread's batch (or direct sends; oversized: counted there)
        }

        return PostToLoops(sessions, datagram, except);
    }

    private int PostToLoops(ReadOnlySpan<Session> sessions, ReadOnlySpan<byte> datagram, Session? except)
    {
        EpollLoop[] loops = _loops;
        var shares = new Session[loops.Length][];
        var counts = new int[loops.Length];
        int total = 0;
        foreach (Session session in sessions)
        {
            if (session != except)
            {
                int home = session.Home.Index;
                (shares[home] ??= ArrayPool<Session>.Shared.Rent(sessions.Length))[counts[home]++] = session;
                total++;
            }
        }

        byte[] payload = datagram.ToArray(); // one copy, read by every I/O thread that sends a share
        for (int i = 0; i < loops.Length; i++)
        {
            if (counts[i] > 0)
            {
                // The work item needs a session to be queued with; it sends to its whole share.
                loops[i].Post(shares[i][0], new SendShare(this, payload, shares[i], counts[i]));
            }
        }

        return total;
    }

    /// <summary>One I/O thread's share of a broadcast, run on that thread (or on the stopping thread after it ended).</summary>
    private sealed class SendShare(EpollEngine engine, byte[] payload, Session[] sessions, int count) : ILoopWork
    {
        public void Execute(IoLoop loop, Session session)
        {
            try
            {
                engine.SendToMany(sessions.AsSpan(0, count), payload, except: null);
            }
            finally
            {
                ArrayPool<Session>.Shared.Return(sessions, clearArray: true);
            }
        }
    }
}
