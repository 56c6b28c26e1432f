using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// One I/O thread's buffers for recvmmsg: up to <see cref="Capacity"/> datagrams, their sources and (on wildcard
/// listeners) their destinations per system call, in native memory allocated once. A datagram read here is valid
/// until the next <see cref="Receive"/>; the loop delivers a whole batch before it reads the next one.
/// </summary>
internal sealed unsafe class ReceiveBatch : IDisposable
{
    private const int NameSize = 32; // sockaddr_in6 (28 bytes), rounded up

    // A batch stays within about 1 MiB whatever the largest datagram is, and never below a few entries.
    private const int ArenaBytes = 1 << 20;

    private readonly int _slotSize;
    private readonly int _controlSize;
    private readonly MMsgHdr* _messages;
    private readonly IoVec* _iov;
    private readonly byte* _names;
    private readonly byte* _controls;
    private readonly byte* _data;

    public ReceiveBatch(int maxDatagramSize, bool withPacketInfo)
    {
        _slotSize = maxDatagramSize;
        Capacity = Math.Clamp(ArenaBytes / Math.Max(1, maxDatagramSize), 4, 64);
        _controlSize = withPacketInfo ? PacketInfo.ControlSize : 0;
        _messages = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(Capacity * sizeof(MMsgHdr)));
        _iov = (IoVec*)NativeMemory.AllocZeroed((nuint)(Capacity * sizeof(IoVec)));
        _names = (byte*)NativeMemory.AllocZeroed((nuint)(Capacity * NameSize));
        _controls = _controlSize > 0 ? (byte*)NativeMemory.AllocZeroed((nuint)(Capacity * _controlSize)) : null;
        _data = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, Capacity * _slotSize));
        for (int i = 0; i < Capacity; i++)
        {
            _iov[i] = new IoVec { Base = _data + ((long)i * _slotSize), Length = (nuint)_slotSize };
            _messages[i].Header.Iov = &_iov[i];
            _messages[i].Header.IovLength = 1;
            _messages[i].Header.Name = _names + (i * NameSize);
            _messages[i].Header.Control = _controls is null ? null : _controls + (i * _controlSize);
        }
    }

    /// <summary>The most datagrams one <see cref="Receive"/> reads.</summary>
    public int Capacity { get; }

    /// <summary>
    /// Reads up to <paramref name="count"/> datagrams from a non-blocking socket. Returns how many (fewer than asked
    /// means the queue ran dry), or -1 with <paramref name="errno"/> (EAGAIN when nothing was queued).
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
        return received;
    }

    /// <summary>The real length of datagram <paramref name="index"/> (larger than the slot when it was cut).</summary>
    public int Length(int index) => (int)_messages[index].Length;

    /// <summary>The datagram's bytes; whole only when <see cref="Length"/> is at most the maximum datagram size.</summary>
    public ReadOnlySpan<byte> Data(int index) => new(_data + ((long)index * _slotSize), Math.Min(Length(index), _slotSize));

    public PeerAddress Source(int index) =>
        PeerAddress.FromLinuxSockAddr(new ReadOnlySpan<byte>(_names + (index * NameSize), (int)_messages[index].Header.NameLength));

    /// <summary>Where the datagram was sent (IP_PKTINFO), or <paramref name="fallback"/> without packet info.</summary>
    public PeerAddress Destination(int index, in PeerAddress fallback) => _controls is null
        ? fallback
        : PacketInfo.Destination(_messages[index].Header.Control, _messages[index].Header.ControlLength, fallback);

    public void Dispose()
    {
        NativeMemory.Free(_messages);
        NativeMemory.Free(_iov);
        NativeMemory.Free(_names);
        NativeMemory.Free(_controls);
        NativeMemory.Free(_data);
    }
}
