using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// Replies sent from handler code on an I/O thread, gathered and sent with sendmmsg before the thread waits again
/// (or when the batch is full): one system call for a run of datagrams to the same socket, which is every reply of
/// the sessions served through this thread's listener. Payloads are copied into an arena allocated once, so a
/// handler's span may point into the receive buffer that the next read overwrites. Consecutive replies to one session
/// of one size go out as one UDP_SEGMENT message when the socket allows it (<see cref="UdpSegmentation"/>), and
/// <see cref="AddSegments"/> queues an application's batch that way.
/// </summary>
internal sealed unsafe partial class SendBatch : IDisposable
{
    private const int NameSize = 32;
    private readonly int _capacity;
    private readonly int _arenaSize;
    private readonly int _controlSize;
    private readonly MMsgHdr* _messages;
    private readonly IoVec* _iov;
    private readonly byte* _names;
    private readonly byte* _controls;
    private readonly byte* _arena;
    private readonly Entry[] _entries; // a struct array: storing references in it needs no covariance check
    private readonly LoopCounters _counters;
    private readonly bool _segmentation;
    private int _count;
    private int _arenaUsed;

    public SendBatch(int capacity, int arenaSize, LoopCounters counters, bool segmentation)
    {
        _capacity = capacity;
        _arenaSize = arenaSize;
        _counters = counters;
        _segmentation = segmentation;
        _controlSize = PacketInfo.ControlSize + UdpSegmentation.ControlSize;
        _messages = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(capacity * sizeof(MMsgHdr)));
        _iov = (IoVec*)NativeMemory.AllocZeroed((nuint)(capacity * sizeof(IoVec)));
        _names = (byte*)NativeMemory.AllocZeroed((nuint)(capacity * NameSize));
        _controls = (byte*)NativeMemory.AllocZeroed((nuint)(capacity * _controlSize));
        _arena = (byte*)NativeMemory.Alloc((nuint)arenaSize);
        _entries = new Entry[capacity];
    }

    public int Count => _count;

    /// <summary>True when a datagram of <paramref name="length"/> bytes fits without a flush first.</summary>
    public bool HasRoom(int length) => _count < _capacity && _arenaUsed + length <= _arenaSize;

    /// <summary>True when a datagram this large can ever be batched (otherwise it is sent directly).</summary>
    public bool Fits(int length) => length <= _arenaSize;

    /// <summary>
    /// Queues a datagram for <paramref name="session"/> on <paramref name="socket"/>: its own connected socket
    /// (<paramref name="peer"/> null), or a listener, addressed to <paramref name="peer"/> and, on a wildcard listener,
    /// from <paramref name="source"/>. <paramref name="reference"/> keeps a socket owned by another thread open until
    /// the flush.
    /// </summary>
    public void Add(Session session, SafeHandle socket, bool reference, ReadOnlySpan<byte> datagram, PeerAddress? peer, PeerAddress? source)
    {
        // Several replies in a row to one session: the previous message may take this one as its next segment.
        if (_count > 0 && ReferenceEquals(_entries[_count - 1].Session, session) && TryAppendSegment(socket, datagram, peer))
        {
            return;
        }

        NewEntry(session, socket, reference, datagram, peer, source);
    }

    private void NewEntry(Session session, SafeHandle socket, bool reference, ReadOnlySpan<byte> datagram, PeerAddress? peer, PeerAddress? source)
    {
        int i = _count;
        ref Entry entry = ref _entries[i];
        if (reference)
        {
            bool added = false;
            socket.DangerousAddRef(ref added);
            entry.Referenced = added;
        }

        byte* data = _arena + _arenaUsed;
        datagram.CopyTo(new Span<byte>(data, datagram.Length));
        _arenaUsed += (datagram.Length + 7) & ~7;
        _iov[i] = new IoVec { Base = data, Length = (nuint)datagram.Length };
        ref MsgHdr header = ref _messages[i].Header;
        header = new MsgHdr { Iov = &_iov[i], IovLength = 1 };
        if (peer is { } to)
        {
            header.Name = _names + (i * NameSize);
            header.NameLength = (uint)to.WriteLinuxSockAddr(new Span<byte>(header.Name, NameSize));
        }

        if (source is { } from)
        {
            header.Control = _controls + (i * _controlSize);
            header.ControlLength = (nuint)PacketInfo.WriteSource(header.Control, from);
        }

        entry.Socket = socket;
        entry.Session = session;
        entry.SegmentSize = datagram.Length;
        entry.Segments = 1;
        _count++;
    }

    /// <summary>
    /// Sends everything queued, a sendmmsg per run of datagrams to the same socket. A datagram the kernel refuses is
    /// reported to <paramref name="results"/> and skipped; the rest still go out.
    /// </summary>
    public void Flush(ISendResults results)
    {
        int start = 0;
        while (start < _count)
        {
            SafeHandle socket = _entries[start].Socket!;
            int end = start + 1;
            while (end < _count && ReferenceEquals(_entries[end].Socket, socket))
            {
                end++;
            }

            SendRun(socket, start, end, results);
            start = end;
        }

        for (int i = 0; i < _count; i++)
        {
            ref Entry entry = ref _entries[i];
            if (entry.Referenced)
            {
                entry.Socket!.DangerousRelease();
            }

            entry = default;
        }

        _count = 0;
        _arenaUsed = 0;
    }

    private void SendRun(SafeHandle socket, int start, int end, ISendResults results)
    {
        int next = start;
        while (next < end)
        {
            int sent = Libc.SendMMsg(socket, _messages + next, (uint)(end - next), 0);
            if (sent < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                // The first message of the run failed; its error is this errno. Skip it and send the rest.
                MessageFailed(socket, next, errno, results);
                next++;
                continue;
            }

            next += sent;
        }
    }

    /// <summary>
    /// A queued message: its session and socket, whether the batch holds a reference on the socket, and the datagrams
    /// it carries (several when it is a UDP_SEGMENT message: all <see cref="SegmentSize"/> bytes but the last).
    /// </summary>
    private struct Entry
    {
        public Session? Session;
        public SafeHandle? Socket;
        public bool Referenced;
        public bool Sealed; // no more segments may join (the last one was shorter, or an explicit batch)
        public int SegmentSize;
        public int Segments;
    }

    public void Dispose()
    {
        NativeMemory.Free(_messages);
        NativeMemory.Free(_iov);
        NativeMemory.Free(_names);
        NativeMemory.Free(_controls);
        NativeMemory.Free(_arena);
    }
}

/// <summary>What a <see cref="SendBatch"/> reports when it is flushed: the datagrams the kernel refused.</summary>
internal interface ISendResults
{
    void Failed(Session session, int length, int errno);
}
