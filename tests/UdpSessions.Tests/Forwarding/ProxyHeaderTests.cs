using System.Net;
using UdpSessions.Forwarding;
using UdpSessions.Internal;

namespace UdpSessions.Tests.Forwarding;

/// <summary>The PROXY v2 header bytes, checked against the specification's layout by hand.</summary>
public class ProxyHeaderTests
{
    [Fact]
    public void An_IPv4_client_gets_family_0x12_and_its_address_and_port()
    {
        byte[] header = ProxyHeaderV2.Create(Address("192.0.2.7:40000"), Address("198.51.100.1:53"));
        Assert.Equal(
            Convert.FromHexString("0D0A0D0A000D0A515549540A" + "21" + "12" + "000C" + "C0000207" + "C6336401" + "9C40" + "0035"),
            header);
    }

    [Fact]
    public void An_IPv6_client_gets_family_0x22_and_a_v4_mapped_one_is_described_as_IPv4()
    {
        byte[] v6 = ProxyHeaderV2.Create(Address("[2001:db8::1]:1234"), Address("[2001:db8::2]:53"));
        Assert.Equal(52, v6.Length);
        Assert.Equal(0x22, v6[13]);
        Assert.Equal(36, (v6[14] << 8) | v6[15]);
        Assert.True(ProxyHeader.TryParse(v6, out IPEndPoint? source, out _, out int length));
        Assert.Equal(IPEndPoint.Parse("[2001:db8::1]:1234"), source);
        Assert.Equal(52, length);

        byte[] mapped = ProxyHeaderV2.Create(Address("[::ffff:192.0.2.7]:1234"), Address("[::ffff:127.0.0.1]:53"));
        Assert.Equal(0x12, mapped[13]);
        Assert.True(ProxyHeader.TryParse(mapped, out source, out _, out _));
        Assert.Equal(IPEndPoint.Parse("192.0.2.7:1234"), source);
    }

    private static PeerAddress Address(string endPoint) => PeerAddress.FromIPEndPoint(IPEndPoint.Parse(endPoint));
}
