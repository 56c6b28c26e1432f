using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace UdpSessions.ProxyProtocol;

/// <summary>
/// The binary PROXY protocol header, version 2 (haproxy.org/download/2.9/doc/proxy-protocol.txt), as a balancer puts
/// it in front of a datagram to name the client it relays: 12-byte signature, version and command, address family and
/// transport, length, then the addresses and ports (and TLVs, skipped). Reading allocates nothing; shared by the server's
/// decoder and any sender (a forwarder).
/// </summary>
public static class ProxyProtocolV2
{
    /// <summary>Bytes before the address block: signature, version/command, family/transport, length.</summary>
    public const int FixedLength = 16;

    /// <summary>A header naming two IPv4 endpoints: 16 + 12 bytes.</summary>
    public const int IPv4HeaderLength = FixedLength + 12;

    /// <summary>A header naming two IPv6 endpoints: 16 + 36 bytes.</summary>
    public const int IPv6HeaderLength = FixedLength + 36;

    /// <summary>The 12 bytes every version 2 header starts with.</summary>
    public static ReadOnlySpan<byte> Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>True when <paramref name="datagram"/> starts with the signature (it claims to carry a header).</summary>
    public static bool StartsWithSignature(ReadOnlySpan<byte> datagram) => datagram.StartsWith(Signature);

    /// <summary>Reads the header at the start of <paramref name="datagram"/>; the payload follows at <see cref="ProxyHeader.Length"/>.</summary>
    public static ProxyHeaderStatus TryRead(ReadOnlySpan<byte> datagram, out ProxyHeader header)
    {
        header = default;
        if (!StartsWithSignature(datagram))
        {
            return ProxyHeaderStatus.NotProxy;
        }

        if (datagram.Length < FixedLength || (datagram[12] >> 4) != 2 || (datagram[12] & 0x0F) > 1)
        {
            return ProxyHeaderStatus.Malformed;
        }

        int length = FixedLength + BinaryPrimitives.ReadUInt16BigEndian(datagram[14..]);
        if (length > datagram.Length)
        {
            return ProxyHeaderStatus.Malformed;
        }

        if ((datagram[12] & 0x0F) == 0)
        {
            header = new ProxyHeader(length, default, 0, default, 0);
            return ProxyHeaderStatus.Local; // the balancer speaking for itself (a health check): addresses ignored
        }

        int addresses = (datagram[13] >> 4) switch { 1 => 4, 2 => 16, _ => 0 };
        if (addresses == 0 || (datagram[13] & 0x0F) is not (1 or 2) || length < FixedLength + (2 * addresses) + 4)
        {
            return ProxyHeaderStatus.Malformed; // UNSPEC or UNIX addresses name no IP client
        }

        ReadOnlySpan<byte> block = datagram[FixedLength..length];
        header = new ProxyHeader(length, Read(block[..addresses]), BinaryPrimitives.ReadUInt16BigEndian(block[(2 * addresses)..]),
            Read(block[addresses..(2 * addresses)]), BinaryPrimitives.ReadUInt16BigEndian(block[((2 * addresses) + 2)..]));
        return ProxyHeaderStatus.Proxy;
    }

    /// <summary>The length of a PROXY header naming endpoints of <paramref name="family"/>.</summary>
    public static int HeaderLength(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? IPv6HeaderLength : IPv4HeaderLength;

    /// <summary>
    /// Writes a PROXY (command 1) header for a datagram (transport DGRAM) from <paramref name="source"/> to
    /// <paramref name="destination"/> (both of one family) and returns its length.
    /// </summary>
    public static int Write(Span<byte> output, IPEndPoint source, IPEndPoint destination)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        if (source.AddressFamily != destination.AddressFamily)
        {
            throw new ArgumentException("Source and destination must be of one address family.", nameof(destination));
        }

        int addresses = source.AddressFamily == AddressFamily.InterNetworkV6 ? 16 : 4;
        Span<byte> sourceAddress = stackalloc byte[addresses], destinationAddress = stackalloc byte[addresses];
        source.Address.TryWriteBytes(sourceAddress, out _);
        destination.Address.TryWriteBytes(destinationAddress, out _);
        return Write(output, sourceAddress, source.Port, destinationAddress, destination.Port);
    }

    /// <summary>The header for two addresses given as bytes, both 4 (IPv4) or both 16 (IPv6) long; returns its length.</summary>
    internal static int Write(Span<byte> output, ReadOnlySpan<byte> source, int sourcePort, ReadOnlySpan<byte> destination, int destinationPort)
    {
        int addresses = source.Length;
        int length = addresses == 16 ? IPv6HeaderLength : IPv4HeaderLength;
        Signature.CopyTo(output);
        output[12] = 0x21; // version 2, PROXY
        output[13] = addresses == 16 ? (byte)0x22 : (byte)0x12; // INET6/INET over DGRAM
        BinaryPrimitives.WriteUInt16BigEndian(output[14..], (ushort)(length - FixedLength));
        Span<byte> block = output[FixedLength..length];
        source.CopyTo(block);
        destination.CopyTo(block[addresses..]);
        BinaryPrimitives.WriteUInt16BigEndian(block[(2 * addresses)..], (ushort)sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(block[((2 * addresses) + 2)..], (ushort)destinationPort);
        return length;
    }

    private static UInt128 Read(ReadOnlySpan<byte> address) => address.Length == 4
        ? new UInt128(0, 0xFFFF_0000_0000UL | BinaryPrimitives.ReadUInt32BigEndian(address)) // as ::ffff:a.b.c.d
        : BinaryPrimitives.ReadUInt128BigEndian(address);
}

/// <summary>What <see cref="ProxyProtocolV2.TryRead"/> found.</summary>
public enum ProxyHeaderStatus
{
    /// <summary>No signature: the datagram carries no header.</summary>
    NotProxy,

    /// <summary>A signature, but not a valid version 2 header for an IP datagram.</summary>
    Malformed,

    /// <summary>A LOCAL header: the balancer's own traffic (health checks); no client is named.</summary>
    Local,

    /// <summary>A PROXY header naming the client (<see cref="ProxyHeader.Source"/>).</summary>
    Proxy,
}

/// <summary>A decoded header: its length, and the client (source) and the address it wrote to (destination), IPv4 as IPv4-mapped IPv6 inside.</summary>
public readonly struct ProxyHeader : IEquatable<ProxyHeader>
{
    private readonly UInt128 _source;
    private readonly UInt128 _destination;

    internal ProxyHeader(int length, UInt128 source, int sourcePort, UInt128 destination, int destinationPort)
    {
        Length = length;
        _source = source;
        SourcePort = sourcePort;
        _destination = destination;
        DestinationPort = destinationPort;
    }

    /// <summary>Bytes of the header, TLVs included: the payload starts here.</summary>
    public int Length { get; }

    /// <summary>The client's port.</summary>
    public int SourcePort { get; }

    /// <summary>The port the client wrote to.</summary>
    public int DestinationPort { get; }

    /// <summary>The client (allocates an <see cref="IPEndPoint"/>).</summary>
    public IPEndPoint Source => ToEndPoint(_source, SourcePort);

    /// <summary>The address the client wrote to (allocates).</summary>
    public IPEndPoint Destination => ToEndPoint(_destination, DestinationPort);

    /// <summary>True when both headers name the same client and destination.</summary>
    public bool SameEndPoints(in ProxyHeader other) =>
        _source == other._source && SourcePort == other.SourcePort && _destination == other._destination && DestinationPort == other.DestinationPort;

    /// <inheritdoc />
    public bool Equals(ProxyHeader other) => Length == other.Length && SameEndPoints(other);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ProxyHeader other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_source, SourcePort, _destination, DestinationPort, Length);

    /// <summary>Equality.</summary>
    public static bool operator ==(ProxyHeader left, ProxyHeader right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(ProxyHeader left, ProxyHeader right) => !left.Equals(right);

    private static IPEndPoint ToEndPoint(UInt128 address, int port)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, address);
        var ip = new IPAddress(bytes);
        return new IPEndPoint(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip, port);
    }
}
