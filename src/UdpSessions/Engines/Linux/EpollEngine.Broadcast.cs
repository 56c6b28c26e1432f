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
        Span<int> counts = loops.Length <= 256 ? stackalloc int[loops.Length] : new int[loops.Length];
        int total = 0;
        foreach (Session session in sessions)
        {
            if (session != except)
            {
                counts[session.Home.Index]++;
                total++;
            }
        }

        if (total == 0)
        {
            return 0;
        }

        int parts = 0;
        var shares = new Session[loops.Length][];
        for (int i = 0; i < loops.Length; i++)
        {
            if (counts[i] > 0)
            {
                shares[i] = ArrayPool<Session>.Shared.Rent(counts[i]);
                parts++;
            }

            counts[i] = 0;
        }

        foreach (Session session in sessions)
        {
            if (session != except)
            {
                int home = session.Home.Index;
                shares[home][counts[home]++] = session;
            }
        }

        var payload = new SharedPayload(datagram, parts);
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

    /// <summary>The datagram, copied once for every I/O thread that sends it; back to the pool after the last.</summary>
    private sealed class SharedPayload(ReadOnlySpan<byte> datagram, int users)
    {
        private readonly byte[] _buffer = CopyOf(datagram);
        private readonly int _length = datagram.Length;
        private int _users = users;

        public ReadOnlySpan<byte> Datagram => _buffer.AsSpan(0, _length);

        public void Release()
        {
            if (Interlocked.Decrement(ref _users) == 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
            }
        }

        private static byte[] CopyOf(ReadOnlySpan<byte> datagram)
        {
            byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, datagram.Length));
            datagram.CopyTo(buffer);
            return buffer;
        }
    }

    /// <summary>One I/O thread's share of a broadcast, run on that thread (or on the stopping thread after it ended).</summary>
    private sealed class SendShare(EpollEngine engine, SharedPayload payload, Session[] sessions, int count) : ILoopWork
    {
        public void Execute(IoLoop loop, Session session)
        {
            try
            {
                engine.SendToMany(sessions.AsSpan(0, count), payload.Datagram, except: null);
            }
            finally
            {
                ArrayPool<Session>.Shared.Return(sessions, clearArray: true);
                payload.Release();
            }
        }
    }
}
