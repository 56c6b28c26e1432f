using System.Buffers.Binary;
using UdpSessions.Internal;

namespace UdpSessions.Forwarding;

/// <summary>
/// The PROXY protocol v2 header (haproxy's proxy-protocol.txt, section 2.2) for a UDP client: the 12-byte signature,
/// version 2 with the PROXY command (0x21), the family and transport byte (0x12: IPv4 over UDP, 0x22: IPv6 over UDP),
/// the address block's length, then source and destination addresses and ports. The source is the client; the
/// destination is the forwarder address the client wrote to. An IPv4 client of a dual-stack listener
/// (::ffff:a.b.c.d) is described as IPv4.
/// </summary>
internal static class ProxyHeaderV2
{
    public const int IPv4Length = 16 + 12;
    public const int IPv6Length = 16 + 36;

    public const byte VersionAndProxyCommand = 0x21;
    public const byte UdpOverIPv4 = 0x12;
    public const byte UdpOverIPv6 = 0x22;

    public static ReadOnlySpan<byte> Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>The header for a client at <paramref name="client"/> that wrote to <paramref name="local"/>.</summary>
    public static byte[] Create(in PeerAddress client, in PeerAddress local)
    {
        bool ipv4 = IsIPv4(client) && IsIPv4(local);
        byte[] header = new byte[ipv4 ? IPv4Length : IPv6Length];
        Signature.CopyTo(header);
        header[12] = VersionAndProxyCommand;
        header[13] = ipv4 ? UdpOverIPv4 : UdpOverIPv6;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)(header.Length - 16));
        Span<byte> sixteen = stackalloc byte[16];
        int addressLength = ipv4 ? 4 : 16;
        Span<byte> addresses = header.AsSpan(16);
        client.WriteAddress16(sixteen);
        sixteen[(16 - addressLength)..].CopyTo(addresses);
        local.WriteAddress16(sixteen);
        sixteen[(16 - addressLength)..].CopyTo(addresses[addressLength..]);
        BinaryPrimitives.WriteUInt16BigEndian(addresses[(2 * addressLength)..], (ushort)client.Port);
        BinaryPrimitives.WriteUInt16BigEndian(addresses[((2 * addressLength) + 2)..], (ushort)local.Port);
        return header;
    }

    private static bool IsIPv4(in PeerAddress address) => !address.IsIPv6 || address.IsV4Mapped;
}
