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
    /// <summary>The header for a client at <paramref name="client"/> that wrote to <paramref name="local"/>.</summary>
    public static byte[] Create(in PeerAddress client, in PeerAddress local)
    {
        bool ipv4 = IsIPv4(client) && IsIPv4(local);
        Span<byte> source = stackalloc byte[16], destination = stackalloc byte[16];
        client.WriteAddress16(source);
        local.WriteAddress16(destination);
        int skip = ipv4 ? 12 : 0; // an IPv4 address is the last 4 bytes of its mapped form
        byte[] header = new byte[ipv4 ? ProxyProtocol.ProxyProtocolV2.IPv4HeaderLength : ProxyProtocol.ProxyProtocolV2.IPv6HeaderLength];
        ProxyProtocol.ProxyProtocolV2.Write(header, source[skip..], client.Port, destination[skip..], local.Port);
        return header;
    }

    private static bool IsIPv4(in PeerAddress address) => !address.IsIPv6 || address.IsV4Mapped;
}
