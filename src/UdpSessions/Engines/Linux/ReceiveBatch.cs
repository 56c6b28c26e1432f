using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// One I/O thread's buffers for recvmmsg: up to <see cref="Capacity"/> datagrams, their sources and (on wildcard
/// listeners) their destinations per system call, in native memory allocated once. A datagram read here is valid
/// until the next <see cref="Receive"/>; the loop delivers a whole batch before it reads the next one. With UDP_GRO
/// a read may hold several datagrams: <see cref="GroSegments"/> splits it, and indices are datagrams, not reads.
/// </summary>
internal sealed unsafe class ReceiveBatch : IDisposable
{
    private const int NameSize = 32; // sockaddr_in6 (28 bytes), rounded up

    // A batch stays within about 1 MiB whatever the largest datagram is, and never below a few entries.
    private const int ArenaBytes = 1 << 20;

    private readonly int _slotSize; // the longest read a slot takes
    private readonly int _slotStride; // the distance between slots
    private readonly int _controlSize;
    private readonly MMsgHdr* _messages;
    private readonly IoVec* _iov;
    private readonly byte* _names;
    private readonly byte* _controls;
    private readonly byte* _data;
    private readonly int _maxDatagramSize;
    private readonly GroSegments? _segments;
    private bool _split; // the last read held coalesced datagrams: indices are those of _segments

    /// <param name="maxDatagramSize">The largest datagram delivered (a slot's length without coalescing).</param>
    /// <param name="withPacketInfo">Room for each datagram's destination (wildcard listeners).</param>
    /// <param name="coalescing">
    /// Non-null when the sockets read may return coalesced reads (UDP_GRO): then every slot holds 64 KiB and the reads
    /// are split into their datagrams, counted in these counters.
    /// </param>
    /// <param name="maxCapacity">The most reads per system call.</param>
    public ReceiveBatch(int maxDatagramSize, bool withPacketInfo, LoopCounters? coalescing = null, int maxCapacity = 64)
    {
        _maxDatagramSize = maxDatagramSize;
        _segments = coalescing is null ? null : new GroSegments(coalescing);
        _slotSize = coalescing is null ? maxDatagramSize : GroSegments.SlotLength;

        // Coalescing slots are 64 KiB apart plus a cache line, so that the first bytes of small datagrams do not all
        // fall into the same cache set.
        _slotStride = coalescing is null ? maxDatagramSize : GroSegments.SlotLength + 64;
        Capacity = coalescing is null ? Math.Clamp(ArenaBytes / Math.Max(1, maxDatagramSize), 4, maxCapacity) : maxCapacity;
        _controlSize = (withPacketInfo ? PacketInfo.ControlSize : 0) + (coalescing is null ? 0 : GroSegments.ControlSize);
        _messages = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(Capacity * sizeof(MMsgHdr)));
        _iov = (IoVec*)NativeMemory.AllocZeroed((nuint)(Capacity * sizeof(IoVec)));
        _names = (byte*)NativeMemory.AllocZeroed((nuint)(Capacity * NameSize));
        _controls = _controlSize > 0 ? (byte*)NativeMemory.AllocZeroed((nuint)(Capacity * _controlSize)) : null;
        _data = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, (long)Capacity * _slotStride));
        for (int i = 0; i < Capacity; i++)
        {
            _iov[i] = new IoVec { Base = _data + ((long)i * _slotStride), Length = (nuint)_slotSize };
            _messages[i].Header.Iov = &_iov[i];
            _messages[i].Header.IovLength = 1;
            _messages[i].Header.Name = _names + (i * NameSize);
            _messages[i].Header.Control = _controls is null ? null : _controls + (i * _controlSize);
        }
    }

    /// <summary>The most datagrams one <see cref="Receive"/> reads.</summary>
    public int Capacity { get; }

    /// <summary>How many reads (socket buffer entries) the last <see cref="Receive"/> took; fewer than asked means the queue ran dry.</summary>
    public int Reads { get; private set; }

    /// <summary>
    /// Reads up to <paramref name="count"/> times from a non-blocking socket. Returns how many datagrams that gave
    /// (more than <see cref="Reads"/> when some reads were coalesced), or -1 with <paramref name="errno"/> (EAGAIN when
    /// nothing was queued).
    /// </summary>
    public int Receive(SafeHandle socket, int count, out int errno)
    {
        count = Math.Min(count, Capacity);
        for (int i = 0; i < count; i++)
        {
            _messages[i].Header.NameLength = NameSize;
            _messages[i].Header.ControlLength = (nuint)_controlSize;
        }

        // MSG_TRUNC: each length is the datagram's real length even when it did not fit, so an oversized one is seen.
        int received = Libc.RecvMMsg(socket, _messages, (uint)count, MSG_TRUNC, null);
        errno = received < 0 ? Marshal.GetLastPInvokeError() : 0;
        Reads = received;
        _split = false;
        if (_segments is not null && received > 0 && _segments.Split(_messages, received, _maxDatagramSize) is var datagrams and >= 0)
        {
            _split = true;
            return datagrams;
        }

        return received;
    }

    /// <summary>The real length of datagram <paramref name="index"/> (larger than the slot when it was cut).</summary>
    public int Length(int index) => _split ? _segments!.Length(index) : (int)_messages[index].Length;

    /// <summary>The datagram's bytes; whole only when <see cref="Length"/> is at most the maximum datagram size.</summary>
    public ReadOnlySpan<byte> Data(int index) => _split
        ? new(_data + ((long)_segments!.Read(index) * _slotStride) + _segments.Offset(index), Math.Min(_segments.Length(index), _slotSize))
        : new(_data + ((long)index * _slotStride), Math.Min(Length(index), _slotSize));

    public PeerAddress Source(int index)
    {
        int read = _split ? _segments!.Read(index) : index;
        return PeerAddress.FromLinuxSockAddr(new ReadOnlySpan<byte>(_names + (read * NameSize), (int)_messages[read].Header.NameLength));
    }

    /// <summary>Where the datagram was sent (IP_PKTINFO), or <paramref name="fallback"/> without packet info.</summary>
    public PeerAddress Destination(int index, in PeerAddress fallback)
    {
        if (_controls is null)
        {
            return fallback;
        }

        int read = _split ? _segments!.Read(index) : index;
        return PacketInfo.Destination(_messages[read].Header.Control, _messages[read].Header.ControlLength, fallback);
    }

    public void Dispose()
    {
        NativeMemory.Free(_messages);
        NativeMemory.Free(_iov);
        NativeMemory.Free(_names);
        NativeMemory.Free(_controls);
        NativeMemory.Free(_data);
    }
}
