using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace UdpSessions.Internal;

/// <summary>
/// A peer's address and port as a small value type: the key of the address map, built from a sockaddr without
/// allocating, so looking up a datagram's source costs no garbage.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal readonly struct PeerAddress : IEquatable<PeerAddress>
{
    private readonly ulong _high;
    private readonly ulong _low;
    private readonly uint _scopeId;
    private readonly ushort _port;
    private readonly bool _isV6;

    private PeerAddress(ulong high, ulong low, ushort port, uint scopeId, bool isV6)
    {
        _high = high;
        _low = low;
        _port = port;
        _scopeId = scopeId;
        _isV6 = isV6;
    }

    public int Port => _port;

    public bool IsIPv6 => _isV6;

    /// <summary>True for an IPv4 address seen through an IPv6 dual-stack socket (::ffff:a.b.c.d).</summary>
    public bool IsV4Mapped => _isV6 && _high == 0 && (_low >> 32) == 0xFFFF;

    public bool IsLinkLocal => _isV6 && (_high >> 54) == 0x3FA; // fe80::/10

    public bool IsAny => _high == 0 && (_isV6 ? _low == 0 : (uint)_low == 0);

    /// <summary>Builds an address from 4 or 16 bytes in network order.</summary>
    public static PeerAddress Create(ReadOnlySpan<byte> address, int port, uint scopeId = 0) =>
        address.Length == 4
            ? new PeerAddress(0, BinaryPrimitives.ReadUInt32BigEndian(address), (ushort)port, 0, false)
            : new PeerAddress(BinaryPrimitives.ReadUInt64BigEndian(address), BinaryPrimitives.ReadUInt64BigEndian(address[8..]),
                (ushort)port, scopeId, true);

    /// <summary>This address with another port.</summary>
    public PeerAddress WithPort(int port) => new(_high, _low, (ushort)port, _scopeId, _isV6);

    /// <summary>The wildcard address of this address's family, same port.</summary>
    public PeerAddress ToAny() => new(0, 0, _port, 0, _isV6);

    /// <summary>
    /// Reads the address part of a <see cref="SocketAddress"/>: on Windows, Linux and the BSDs the port sits at
    /// offset 2 and the IPv4/IPv6 address at 4/8 (scope id at 24), whatever the platform puts in the first two bytes.
    /// </summary>
    public static PeerAddress FromSocketAddress(SocketAddress address)
    {
        ReadOnlySpan<byte> raw = address.Buffer.Span;
        int port = BinaryPrimitives.ReadUInt16BigEndian(raw[2..]);
        return address.Family == AddressFamily.InterNetworkV6
            ? Create(raw.Slice(8, 16), port, MemoryMarshal.Read<uint>(raw[24..]))
            : Create(raw.Slice(4, 4), port);
    }

    public static PeerAddress FromIPEndPoint(IPEndPoint endPoint)
    {
        Span<byte> bytes = stackalloc byte[16];
        endPoint.Address.TryWriteBytes(bytes, out int written);
        bool v6 = endPoint.AddressFamily == AddressFamily.InterNetworkV6;
        return v6
            ? new PeerAddress(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
                (ushort)endPoint.Port, (uint)endPoint.Address.ScopeId, true)
            : new PeerAddress(0, BinaryPrimitives.ReadUInt32BigEndian(bytes[..written]), (ushort)endPoint.Port, 0, false);
    }

    /// <summary>Reads a Linux sockaddr_in / sockaddr_in6 (family in host order, port and address in network order).</summary>
    public static PeerAddress FromLinuxSockAddr(ReadOnlySpan<byte> sockaddr)
    {
        ushort family = MemoryMarshal.Read<ushort>(sockaddr);
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]);
        return family == LinuxAfInet6
            ? new PeerAddress(BinaryPrimitives.ReadUInt64BigEndian(sockaddr[8..]), BinaryPrimitives.ReadUInt64BigEndian(sockaddr[16..]),
                port, MemoryMarshal.Read<uint>(sockaddr[24..]), true)
            : new PeerAddress(0, BinaryPrimitives.ReadUInt32BigEndian(sockaddr[4..]), port, 0, false);
    }

    /// <summary>Writes the Linux sockaddr of this address and returns its length (16 or 28).</summary>
    public int WriteLinuxSockAddr(Span<byte> destination)
    {
        destination[..SockAddrV6Length].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], _port);
        if (_isV6)
        {
            MemoryMarshal.Write(destination, LinuxAfInet6);
            BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _high);
            BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _low);
            MemoryMarshal.Write(destination[24..], _scopeId);
            return SockAddrV6Length;
        }

        MemoryMarshal.Write(destination, LinuxAfInet);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], (uint)_low);
        return SockAddrV4Length;
    }

    /// <summary>
    /// The network this address belongs to: the first <paramref name="ipv4PrefixLength"/> bits of an IPv4 address
    /// (IPv4-mapped ones included) or <paramref name="ipv6PrefixLength"/> bits of an IPv6 one, port and scope cleared.
    /// </summary>
    public PeerAddress ToPrefix(int ipv4PrefixLength, int ipv6PrefixLength)
    {
        if (!_isV6 || IsV4Mapped)
        {
            ulong v4 = (uint)_low & (uint)(0xFFFF_FFFFUL << (32 - ipv4PrefixLength));
            return new PeerAddress(0, v4, 0, 0, false);
        }

        ulong high = ipv6PrefixLength >= 64 ? _high : _high & ~(ulong.MaxValue >> ipv6PrefixLength);
        ulong low = ipv6PrefixLength <= 64 ? 0 : ipv6PrefixLength == 128 ? _low : _low & ~(ulong.MaxValue >> (ipv6PrefixLength - 64));
        return new PeerAddress(high, low, 0, 0, true);
    }

    /// <summary>Writes the address as 16 bytes in network order, IPv4 as IPv4-mapped IPv6, so both forms of one peer read the same.</summary>
    public void WriteAddress16(Span<byte> destination)
    {
        ulong high = _isV6 ? _high : 0;
        ulong low = _isV6 ? _low : 0xFFFF_0000_0000UL | (uint)_low;
        BinaryPrimitives.WriteUInt64BigEndian(destination, high);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], low);
    }

    /// <summary>Writes the address as 4 (IPv4) or 16 (IPv6) bytes in network order; returns the count.</summary>
    public int WriteAddress(Span<byte> destination)
    {
        if (_isV6)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination, _high);
            BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _low);
            return 16;
        }

        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)_low);
        return 4;
    }

    /// <summary>
    /// Fills a <see cref="SocketAddress"/> of this address's family in place (the inverse of
    /// <see cref="FromSocketAddress"/>: port at offset 2, IPv4 address at 4, IPv6 address at 8 and scope id at 24).
    /// </summary>
    public void WriteSocketAddress(SocketAddress address)
    {
        Span<byte> raw = address.Buffer.Span;
        BinaryPrimitives.WriteUInt16BigEndian(raw[2..], _port);
        if (_isV6)
        {
            raw.Slice(4, 4).Clear(); // flow info
            BinaryPrimitives.WriteUInt64BigEndian(raw[8..], _high);
            BinaryPrimitives.WriteUInt64BigEndian(raw[16..], _low);
            MemoryMarshal.Write(raw[24..], _scopeId);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(raw[4..], (uint)_low);
        }
    }

    public IPEndPoint ToIPEndPoint()
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!_isV6)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)_low);
            return new IPEndPoint(new IPAddress(bytes[..4]), _port);
        }

        BinaryPrimitives.WriteUInt64BigEndian(bytes, _high);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], _low);
        return new IPEndPoint(new IPAddress(bytes, _scopeId), _port);
    }

    public bool Equals(PeerAddress other) =>
        _low == other._low && _high == other._high && _port == other._port && _isV6 == other._isV6 && _scopeId == other._scopeId;

    public override bool Equals(object? obj) => obj is PeerAddress other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_high, _low, _port, _scopeId);

    public override string ToString() => ToIPEndPoint().ToString();

    public static bool operator ==(PeerAddress left, PeerAddress right) => left.Equals(right);

    public static bool operator !=(PeerAddress left, PeerAddress right) => !left.Equals(right);

    internal const ushort LinuxAfInet = 2;
    internal const ushort LinuxAfInet6 = 10;
    internal const int SockAddrV4Length = 16;
    internal const int SockAddrV6Length = 28;
}
