using System.Buffers;
using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// Closing a session that has its own socket without losing or reordering what its peer keeps sending: the socket is
/// retired (no more sends, re-connected away from the peer, drained), and the peer's next datagrams, which now reach
/// the listener, are held back until a grace period has passed and the retired socket has been read one last time.
/// </summary>
internal sealed unsafe partial class EpollLoop
{
    // Held-back datagrams of all retiring sessions of this loop. Far more than a grace period (~10 ms) of a busy peer;
    // beyond it a datagram is delivered at once (it could then pass a late one of the retired socket, which is rare).
    private const int MaxHeldBackBytes = 4 << 20;

    private readonly Dictionary<SessionKey, RetiredSocket> _retiring = [];
    private ReceiveBatch? _drain;
    private int _heldBackBytes;

    // An orphan is drained when its turn comes (RetireOrphan), or now if the server is stopping.
    protected override List<QueuedDatagram>? DrainSocket(Session session) =>
        IsAwaitingListener(session) && !Engine.Stopping ? null : DrainAndRetire(session);

    protected override void ReleaseSocket(Session session)
    {
        if (Engine.Stopping)
        {
            _awaitingListener.Remove(session);
            Engine.ReleaseSocket(session);
        }
        else if (!IsAwaitingListener(session))
        {
            WaitForGracePeriod(session);
        }
    }

    /// <summary>Retires, drains and puts in its grace period an orphaned socket (see EpollLoop.Placement.cs).</summary>
    private List<QueuedDatagram>? RetireSocket(Session session)
    {
        List<QueuedDatagram>? leftovers = DrainAndRetire(session);
        WaitForGracePeriod(session);
        return leftovers;
    }

    /// <summary>No more sends, no more of the peer's datagrams: then what the socket still holds.</summary>
    private List<QueuedDatagram>? DrainAndRetire(Session session)
    {
        FlushSends(); // replies queued for this socket leave before it stops sending
        SessionSocketFactory.Retire((SafeFdHandle)session.Socket!);
        return DrainQueued(session.Socket!);
    }

    /// <summary>
    /// From here on the peer's datagrams reach the listener, and are held back until the grace period is over and the
    /// socket has been read a last time. A key has one retiring socket at most: its next session is not promoted
    /// while datagrams are held for it.
    /// </summary>
    private void WaitForGracePeriod(Session session)
    {
        var retired = new RetiredSocket(session);
        _retiring.TryAdd(session.Key, retired);
        _engine.GracePeriods.Wait(this, session, retired);
    }

    protected override bool TryHoldBack(in SessionKey key, ReadOnlySpan<byte> datagram)
    {
        if (_retiring.Count == 0 || !_retiring.TryGetValue(key, out RetiredSocket? retired) || _heldBackBytes + datagram.Length > MaxHeldBackBytes)
        {
            return false;
        }

        byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, datagram.Length));
        datagram.CopyTo(copy);
        retired.Held.Add(new QueuedDatagram(copy, datagram.Length, key.Peer));
        _heldBackBytes += datagram.Length;
        return true;
    }

    private bool IsHeldBack(in SessionKey key) => _retiring.Count > 0 && _retiring.ContainsKey(key);

    /// <summary>The grace period is over: the socket's last read (late datagrams first), then what was held back, then close().</summary>
    internal void FinishRetirement(RetiredSocket retired)
    {
        if (retired.Finished)
        {
            return;
        }

        retired.Finished = true;
        Session session = retired.Session;
        List<QueuedDatagram>? late = DrainQueued(session.Socket!);
        Engine.ReleaseSocket(session);
        if (_retiring.TryGetValue(session.Key, out RetiredSocket? current) && current == retired)
        {
            _retiring.Remove(session.Key);
        }

        if (late is not null)
        {
            Counters.LateAfterClose += late.Count;
            RouteLeftovers(session, late);
        }

        foreach (QueuedDatagram held in retired.Held)
        {
            _heldBackBytes -= held.Length;
            if (Engine.Stopping)
            {
                Counters.Dropped[(int)DropReason.SessionClosed]++;
            }
            else
            {
                RouteByAddress(held.Source, session.Local, held.Buffer.AsSpan(0, held.Length), RouteOrigin.Leftover);
            }

            ArrayPool<byte>.Shared.Return(held.Buffer);
        }
    }

    protected override void ReleaseHeldSockets()
    {
        foreach (Session orphan in _awaitingListener.Where(session => session.IsTornDown && session.Socket is { IsClosed: false }))
        {
            RouteLeftovers(orphan, DrainQueued(orphan.Socket!)); // stopping: counted as dropped (SessionClosed)
            Engine.ReleaseSocket(orphan);
        }

        _awaitingListener.Clear();
        if (_retiring.Count == 0)
        {
            return;
        }

        _engine.GracePeriods.WaitOnce();
        foreach (RetiredSocket retired in _retiring.Values.ToList())
        {
            FinishRetirement(retired);
        }
    }

    /// <summary>Reads (and counts as received) everything queued on a socket; null when nothing was.</summary>
    private List<QueuedDatagram>? DrainQueued(SafeHandle socket)
    {
        const int MaxReads = 16_384; // more than a session socket's buffer can hold
        List<QueuedDatagram>? leftovers = null;

        // Its own batch: the datagram being delivered when the close was asked for may still be in the loop's. Split
        // like the loop's when the sockets coalesce reads (UDP_GRO).
        _drain ??= new ReceiveBatch(MaxDatagramSize, withPacketInfo: false, _engine.Options.ReceiveCoalescing ? Counters : null, maxCapacity: 8);
        for (int reads = 0; reads < MaxReads;)
        {
            int received = _drain.Receive(socket, _drain.Capacity, out int errno);
            if (received < 0)
            {
                // A pending ICMP error is reported once, ahead of the data still queued behind it.
                if (errno is Errno.EINTR or Errno.ECONNREFUSED)
                {
                    reads++;
                    continue;
                }

                break;
            }

            reads += Math.Max(1, _drain.Reads);
            for (int i = 0; i < received; i++)
            {
                int length = _drain.Length(i);
                if (Accounted(length))
                {
                    byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
                    _drain.Data(i).CopyTo(copy);
                    (leftovers ??= []).Add(new QueuedDatagram(copy, length, _drain.Source(i)));
                }
            }
        }

        return leftovers;
    }
}
