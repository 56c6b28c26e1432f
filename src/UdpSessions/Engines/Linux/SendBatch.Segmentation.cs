using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// The batch's UDP_SEGMENT messages (<see cref="UdpSegmentation"/>): an application's run queued as one message, a
/// reply appended to the previous message as its next segment where that keeps every datagram and their order, and a
/// refused message sent again one datagram at a time.
/// </summary>
internal sealed unsafe partial class SendBatch
{
    /// <summary>True when batches for <paramref name="socket"/> may go out as UDP_SEGMENT sends.</summary>
    public bool CanSegment(SafeHandle socket) => _segmentation && !((SafeFdHandle)socket).SegmentationRefused;

    /// <summary>
    /// Queues <paramref name="payload"/> as one UDP_SEGMENT message of datagrams of <paramref name="segmentSize"/>
    /// bytes (the last one may be shorter): at most <see cref="UdpSegmentation.MaxSegments"/> of them and
    /// <see cref="UdpSegmentation.MaxPayload"/> bytes, on a socket that <see cref="CanSegment"/>.
    /// </summary>
    public void AddSegments(Session session, SafeHandle socket, bool reference, ReadOnlySpan<byte> payload, int segmentSize, PeerAddress? peer, PeerAddress? source)
    {
        NewEntry(session, socket, reference, payload, peer, source);
        ref Entry entry = ref _entries[_count - 1];
        entry.SegmentSize = segmentSize;
        entry.Segments = (payload.Length + segmentSize - 1) / segmentSize;
        entry.Sealed = true;
        if (entry.Segments > 1)
        {
            MarkSegmented(_count - 1, segmentSize);
        }
    }

    /// <summary>
    /// Makes <paramref name="datagram"/> the next segment of the last message when that keeps every datagram as it
    /// is: same socket and destination, segments of one size (a shorter one ends the message), within the kernel's
    /// limits, and no larger than <see cref="UdpSegmentation.AutoMaxSegmentSize"/> (a segment larger than the route's
    /// MTU would make the kernel refuse the send and turn segmentation off for the socket).
    /// </summary>
    private bool TryAppendSegment(SafeHandle socket, ReadOnlySpan<byte> datagram, PeerAddress? peer)
    {
        int last = _count - 1;
        ref Entry entry = ref _entries[last];
        int size = entry.SegmentSize;
        if (entry.Sealed || datagram.Length == 0 || datagram.Length > size || size > UdpSegmentation.AutoMaxSegmentSize
            || entry.Segments >= UdpSegmentation.SegmentsPerSend(size) || !ReferenceEquals(entry.Socket, socket) || !CanSegment(socket))
        {
            return false;
        }

        if (peer is { } to)
        {
            // The session's peer may have moved since the message was queued (migration): then it is another destination.
            Span<byte> name = stackalloc byte[NameSize];
            int length = to.WriteLinuxSockAddr(name);
            if (!name[..length].SequenceEqual(new ReadOnlySpan<byte>(_messages[last].Header.Name, (int)_messages[last].Header.NameLength)))
            {
                return false;
            }
        }

        ref IoVec iov = ref _iov[last];
        byte* end = (byte*)iov.Base + iov.Length;
        datagram.CopyTo(new Span<byte>(end, datagram.Length));
        iov.Length += (nuint)datagram.Length;
        _arenaUsed = (int)((end + datagram.Length - _arena + 7) & ~7);
        entry.Sealed = datagram.Length < size;
        if (++entry.Segments == 2)
        {
            MarkSegmented(last, size);
        }

        return true;
    }

    /// <summary>Adds the UDP_SEGMENT control message to message <paramref name="index"/>, after its source, if any.</summary>
    private void MarkSegmented(int index, int segmentSize)
    {
        ref MsgHdr header = ref _messages[index].Header;
        if (header.Control is null)
        {
            header.Control = _controls + (index * _controlSize);
            header.ControlLength = 0;
        }

        header.ControlLength += (nuint)UdpSegmentation.WriteSegmentSize((byte*)header.Control + header.ControlLength, segmentSize);
        _counters.SegmentedSends++;
    }

    /// <summary>
    /// The kernel refused message <paramref name="index"/>. A UDP_SEGMENT message refused for its segmentation goes
    /// out again as separate datagrams (and the socket sends no more such messages); otherwise each of its datagrams
    /// is reported.
    /// </summary>
    private void MessageFailed(SafeHandle socket, int index, int errno, ISendResults results)
    {
        ref Entry entry = ref _entries[index];
        if (entry.Segments > 1 && UdpSegmentation.IsRefusal(errno))
        {
            ((SafeFdHandle)socket).SegmentationRefused = true;
            _counters.SegmentedSends--;
            _counters.SegmentationFallbacks++;
            SendSeparately(socket, index, results);
            return;
        }

        int total = (int)_iov[index].Length;
        int size = Math.Max(1, entry.SegmentSize);
        for (int offset = 0; offset < total || offset == 0; offset += size)
        {
            results.Failed(entry.Session!, Math.Min(size, total - offset), errno);
        }
    }

    /// <summary>Sends the datagrams of a refused UDP_SEGMENT message one by one (same destination and source).</summary>
    private void SendSeparately(SafeHandle socket, int index, ISendResults results)
    {
        MsgHdr header = _messages[index].Header;
        header.ControlLength -= (nuint)UdpSegmentation.ControlSize; // the segment size was written last
        if (header.ControlLength == 0)
        {
            header.Control = null;
        }

        IoVec iov;
        header.Iov = &iov;
        byte* data = (byte*)_iov[index].Base;
        int total = (int)_iov[index].Length;
        int size = _entries[index].SegmentSize;
        for (int offset = 0; offset < total; offset += size)
        {
            iov = new IoVec { Base = data + offset, Length = (nuint)Math.Min(size, total - offset) };
            nint sent;
            do
            {
                sent = Libc.SendMsg(socket, &header, 0);
            }
            while (sent < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
            if (sent < 0)
            {
                results.Failed(_entries[index].Session!, (int)iov.Length, Marshal.GetLastPInvokeError());
            }
        }
    }
}
