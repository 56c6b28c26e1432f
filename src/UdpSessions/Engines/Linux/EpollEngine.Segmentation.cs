using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// <see cref="Session.SendBatch"/> on the epoll engine: queued in the I/O thread's send batch when called from a
/// callback, otherwise one sendmsg with UDP_SEGMENT per run of up to 64 datagrams. A socket on which the kernel
/// refuses that sends the refused datagrams, and every later batch, one datagram at a time.
/// </summary>
internal sealed unsafe partial class EpollEngine
{
    protected override bool? SendSegmentsCore(Session session, ReadOnlySpan<byte> datagrams, int segmentSize)
    {
        if (!Options.SendSegmentation)
        {
            return null;
        }

        try
        {
            EpollLoop? current = EpollLoop.Current;
            if (current is not null && current.Engine == this)
            {
                current.QueueSegments(session, datagrams, segmentSize);
                return true;
            }

            return SendSegmentsNow(session, datagrams, segmentSize);
        }
        catch (ObjectDisposedException)
        {
            return CountRefused(session, SendStatus.Closed, 1); // the session's socket was closed by its loop meanwhile
        }
    }

    private bool? SendSegmentsNow(Session session, ReadOnlySpan<byte> datagrams, int segmentSize)
    {
        SafeFdHandle socket = (SafeFdHandle?)session.Socket ?? Listeners.Listeners[session.Home.Index].Sender;
        if (socket.SegmentationRefused)
        {
            return null;
        }

        byte* name = stackalloc byte[PeerAddress.SockAddrV6Length];
        byte* control = stackalloc byte[PacketInfo.ControlSize + UdpSegmentation.ControlSize];
        uint nameLength = 0;
        int controlLength = 0;
        if (session.Socket is null)
        {
            nameLength = (uint)session.Peer.WriteLinuxSockAddr(new Span<byte>(name, PeerAddress.SockAddrV6Length));
            controlLength = Listeners.IsWildcard ? PacketInfo.WriteSource(control, session.Local) : 0;
        }

        int chunk = UdpSegmentation.SegmentsPerSend(segmentSize) * segmentSize;
        bool all = true;
        for (int offset = 0; offset < datagrams.Length; offset += chunk)
        {
            ReadOnlySpan<byte> part = datagrams.Slice(offset, Math.Min(chunk, datagrams.Length - offset));
            int count = (part.Length + segmentSize - 1) / segmentSize;
            if (count == 1)
            {
                all &= Send(session, part); // a lone datagram needs no segmentation (and must not be refused for it)
                continue;
            }

            int errno = UdpSegmentation.Send(socket, part, segmentSize, nameLength == 0 ? null : name, nameLength, control, controlLength);
            if (errno == 0)
            {
                Interlocked.Add(ref SendCounters.DatagramsSent, count);
                Interlocked.Add(ref SendCounters.BytesSent, part.Length);
                Interlocked.Increment(ref SendCounters.SegmentedSends);
                session.CountSent(count, part.Length, onHomeThread: false);
                continue;
            }

            if (UdpSegmentation.IsRefusal(errno))
            {
                // Never again on this socket; this run and the rest go out one datagram at a time.
                socket.SegmentationRefused = true;
                Interlocked.Increment(ref SendCounters.SegmentationFallbacks);
                for (int single = offset; single < datagrams.Length; single += segmentSize)
                {
                    all &= Send(session, datagrams.Slice(single, Math.Min(segmentSize, datagrams.Length - single)));
                }

                return all;
            }

            SendStatus status = StatusOf(session, errno, segmentSize);
            if (status == SendStatus.PeerUnreachable)
            {
                session.RequestClose(SessionCloseReason.PeerUnreachable);
            }

            all &= CountRefused(session, status, count);
        }

        return all;
    }
}
