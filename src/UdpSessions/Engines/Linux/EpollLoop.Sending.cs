using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;

namespace UdpSessions.Engines.Linux;

/// <summary>Replies sent from this thread's callbacks go out in batches (sendmmsg) before the thread waits again.</summary>
internal sealed partial class EpollLoop : ISendResults
{
    /// <summary>
    /// Queues a datagram sent on this thread in its batch: through the session's own socket, or this thread's listener
    /// (any listener of the group sends from the same address and port). False when it is too large to batch. It is
    /// counted as sent now, before the peer can see it, and taken back if the kernel refuses it at the flush.
    /// </summary>
    public bool TryQueueSend(Session session, ReadOnlySpan<byte> datagram)
    {
        if (!_send.Fits(datagram.Length))
        {
            return false;
        }

        if (!_send.HasRoom(datagram.Length))
        {
            FlushSends();
        }

        if (session.Socket is { } socket)
        {
            // Another loop's session: its loop may close the socket before this batch is flushed, so hold a reference.
            _send.Add(session, socket, reference: session.Home != this, datagram, peer: null, source: null);
        }
        else
        {
            _send.Add(session, _listener.Sender, reference: false, datagram, session.Peer, _listener.IsWildcard ? session.Local : null);
        }

        Counters.DatagramsSent++;
        Counters.BytesSent += datagram.Length;
        session.CountSent(datagram.Length, onHomeThread: session.Home == this);
        return true;
    }

    /// <summary>
    /// Queues an application's batch (<see cref="Session.SendBatch"/>) of datagrams of <paramref name="segmentSize"/>
    /// bytes, the last one possibly shorter: as UDP_SEGMENT messages of up to 64 datagrams while the socket takes them,
    /// otherwise one datagram at a time. Counted as sent now, each datagram taken back if the kernel refuses it.
    /// </summary>
    public void QueueSegments(Session session, ReadOnlySpan<byte> payload, int segmentSize)
    {
        SafeHandle socket = session.Socket ?? _listener.Sender;
        if (!_send.CanSegment(socket))
        {
            for (int offset = 0; offset < payload.Length; offset += segmentSize)
            {
                TryQueueSend(session, payload.Slice(offset, Math.Min(segmentSize, payload.Length - offset)));
            }

            return;
        }

        bool ownSocket = session.Socket is not null;
        PeerAddress? peer = ownSocket ? null : session.Peer;
        PeerAddress? source = !ownSocket && _listener.IsWildcard ? session.Local : null;
        int chunk = UdpSegmentation.SegmentsPerSend(segmentSize) * segmentSize;
        for (int offset = 0; offset < payload.Length; offset += chunk)
        {
            ReadOnlySpan<byte> part = payload.Slice(offset, Math.Min(chunk, payload.Length - offset));
            if (!_send.HasRoom(part.Length))
            {
                FlushSends();
            }

            _send.AddSegments(session, socket, reference: ownSocket && session.Home != this, part, segmentSize, peer, source);
            int datagrams = (part.Length + segmentSize - 1) / segmentSize;
            Counters.DatagramsSent += datagrams;
            Counters.BytesSent += part.Length;
            session.CountSent(datagrams, part.Length, onHomeThread: session.Home == this);
        }
    }

    /// <summary>Sends what this thread has queued.</summary>
    public void FlushSends()
    {
        if (_send.Count > 0)
        {
            _send.Flush(this);
        }
    }

    /// <summary>A closing session's goodbye leaves before its OnSessionClosed (a no-op when nothing is queued).</summary>
    protected override void GoodbyeSaid() => FlushSends();

    void ISendResults.Failed(Session session, int length, int errno)
    {
        Counters.DatagramsSent--;
        Counters.BytesSent -= length;
        session.TakeBackSent(length, onHomeThread: session.Home == this);
        session.CountSendRefused();
        SendCounters counters = Engine.SendCounters;
        if (errno == Errno.EMSGSIZE)
        {
            SocketFailed($"sendmmsg of a {length}-byte datagram", errno);
            Interlocked.Increment(ref counters.Failed);
            return;
        }

        switch (_engine.StatusOf(session, errno, length))
        {
            case SendStatus.WouldBlock:
                Interlocked.Increment(ref counters.DroppedSendBufferFull);
                break;
            case SendStatus.PeerUnreachable:
                session.RequestClose(SessionCloseReason.PeerUnreachable);
                Interlocked.Increment(ref counters.DroppedSessionClosed);
                break;
            case SendStatus.Closed:
                Interlocked.Increment(ref counters.DroppedSessionClosed);
                break;
            default:
                Interlocked.Increment(ref counters.Failed);
                break;
        }
    }
}
