using System.Net;
using System.Net.Sockets;
using UdpSessions.Internal;

namespace UdpSessions.Tests.Internal;

/// <summary>PeerAddress: the address-map key, converted to and from sockaddr and IPEndPoint.</summary>
public class PeerAddressTests
{
    public static TheoryData<string, int> EndPoints() => new()
    {
        { "127.0.0.1", 9000 },
        { "127.1.2.3", 1 },
        { "0.0.0.0", 0 },
        { "255.255.255.255", 65535 },
        { "::1", 443 },
        { "::", 0 },
        { "2001:db8::1234:5678", 65535 },
        { "::ffff:127.0.0.1", 5000 },
        { "::ffff:10.1.2.3", 12345 },
    };

    [Theory]
    [MemberData(nameof(EndPoints))]
    public void Sockaddr_and_IPEndPoint_round_trip(string address, int port)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(address), port);
        PeerAddress peer = PeerAddress.FromIPEndPoint(endPoint);
        Assert.Equal(endPoint, peer.ToIPEndPoint());
        Assert.Equal(port, peer.Port);
        Assert.Equal(endPoint.AddressFamily == AddressFamily.InterNetworkV6, peer.IsIPv6);
        Assert.Equal(endPoint.Address.IsIPv4MappedToIPv6, peer.IsV4Mapped);

        Span<byte> sockaddr = stackalloc byte[PeerAddress.SockAddrV6Length];
        sockaddr.Fill(0xEE);
        int length = peer.WriteLinuxSockAddr(sockaddr);
        Assert.Equal(peer.IsIPv6 ? 28 : 16, length);
        PeerAddress back = PeerAddress.FromLinuxSockAddr(sockaddr);
        Assert.Equal(peer, back);
        Assert.True(peer == back);
        Assert.Equal(peer.GetHashCode(), back.GetHashCode());
        Assert.Equal(endPoint, back.ToIPEndPoint());

        // The same bytes as the OS's own sockaddr (SocketAddress holds the native layout on Linux).
        SocketAddress native = endPoint.Serialize();
        Assert.True(native.Buffer.Span[..length].SequenceEqual(sockaddr[..length]),
            $"{Convert.ToHexString(native.Buffer.Span[..length])} != {Convert.ToHexString(sockaddr[..length])}");
        Assert.Equal(peer, PeerAddress.FromSocketAddress(native));
    }

    [Fact]
    public void Linux_sockaddr_layout_is_family_port_address()
    {
        PeerAddress v4 = PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0x1234));
        byte[] sockaddr = new byte[PeerAddress.SockAddrV6Length];
        v4.WriteLinuxSockAddr(sockaddr);
        Assert.Equal(new byte[] { 2, 0, 0x12, 0x34, 127, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0 }, sockaddr[..16]);

        PeerAddress v6 = PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.IPv6Loopback, 0x0102));
        v6.WriteLinuxSockAddr(sockaddr);
        Assert.Equal(new byte[] { 10, 0, 1, 2, 0, 0, 0, 0 }, sockaddr[..8]);
        Assert.Equal(IPAddress.IPv6Loopback.GetAddressBytes(), sockaddr[8..24]);
        Assert.Equal(new byte[4], sockaddr[24..28]);
    }

    [Fact]
    public void Scope_ids_survive_and_distinguish_link_local_addresses()
    {
        var scoped = new IPEndPoint(IPAddress.Parse("fe80::1%3"), 7);
        PeerAddress peer = PeerAddress.FromIPEndPoint(scoped);
        Assert.True(peer.IsLinkLocal);
        Span<byte> sockaddr = stackalloc byte[PeerAddress.SockAddrV6Length];
        peer.WriteLinuxSockAddr(sockaddr);
        Assert.Equal(scoped, PeerAddress.FromLinuxSockAddr(sockaddr).ToIPEndPoint());
        Assert.NotEqual(peer, PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("fe80::1%4"), 7)));
    }

    [Fact]
    public void Families_ports_and_mapped_forms_are_distinct_keys()
    {
        PeerAddress v4 = PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, 80));
        PeerAddress mapped = PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback.MapToIPv6(), 80));
        Assert.NotEqual(v4, mapped);
        Assert.NotEqual(v4, v4.WithPort(81));
        Assert.Equal(v4, v4.WithPort(81).WithPort(80));
        Assert.True(v4.ToAny().IsAny);
        Assert.Equal(80, v4.ToAny().Port);
        Assert.False(v4.IsAny);
        Assert.True(PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.IPv6Any, 1)).IsAny);
        Assert.True(PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Any, 1)).IsAny);
        Assert.False(mapped.IsAny);

        var set = new HashSet<PeerAddress> { v4, mapped, v4.WithPort(81), PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, 80)) };
        Assert.Equal(3, set.Count);
    }

    [Fact]
    public void Create_reads_network_order_bytes()
    {
        PeerAddress v4 = PeerAddress.Create([127, 0, 0, 9], 53);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("127.0.0.9"), 53), v4.ToIPEndPoint());
        PeerAddress v6 = PeerAddress.Create(IPAddress.Parse("::ffff:127.0.0.9").GetAddressBytes(), 53);
        Assert.True(v6.IsV4Mapped);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("::ffff:127.0.0.9"), 53), v6.ToIPEndPoint());
    }
}
