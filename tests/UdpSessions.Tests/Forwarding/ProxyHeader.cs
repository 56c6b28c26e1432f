using System.Buffers.Binary;
using System.Net;

namespace UdpSessions.Tests.Forwarding;

/// <summary>A test's own reading of a PROXY protocol v2 header (haproxy's proxy-protocol.txt, 2.2), UDP families only.</summary>
internal static class ProxyHeader
{
    private static ReadOnlySpan<byte> Signature => "\r\n\r\n\0\r\nQUIT\n"u8;

    /// <summary>True when <paramref name="datagram"/> starts with a v2 PROXY header for UDP; the source address it carries.</summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out IPEndPoint? source, out byte family, out int headerLength)
    {
        source = null;
        family = 0;
        headerLength = 0;
        if (datagram.Length < 16 || !datagram.StartsWith(Signature))
        {
            return false;
        }

        Assert.Equal(0x21, datagram[12]); // version 2, PROXY
        family = datagram[13];
        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[14..]);
        headerLength = 16 + length;
        ReadOnlySpan<byte> block = datagram.Slice(16, length);
        switch (family)
        {
            case 0x12: // UDP over IPv4
                Assert.Equal(12, length);
                source = new IPEndPoint(new IPAddress(block[..4]), BinaryPrimitives.ReadUInt16BigEndian(block[8..]));
                break;
            case 0x22: // UDP over IPv6
                Assert.Equal(36, length);
                source = new IPEndPoint(new IPAddress(block[..16]), BinaryPrimitives.ReadUInt16BigEndian(block[32..]));
                break;
            default:
                Assert.Fail($"family/transport byte 0x{family:X2} is not UDP");
                break;
        }

        return true;
    }
}
