using System.Net;
using UdpSessions.Forwarding;
using UdpSessions.Internal;

namespace UdpSessions.Tests.Forwarding;

/// <summary>The consistent-hash ring: shares follow weights, and a change of membership moves only the changed share.</summary>
public class HashRingTests
{
    private const int Keys = 20_000;

    [Fact]
    public void Removing_one_of_four_upstreams_moves_exactly_its_keys()
    {
        Upstream[] four = [.. Enumerable.Range(1, 4).Select(i => Upstream($"10.0.0.{i}:53"))];
        var before = new HashRing(four);
        var after = new HashRing(four[..3]);
        int moved = 0;
        int[] owned = new int[4];
        for (int k = 0; k < Keys; k++)
        {
            ulong key = HashRing.KeyOf(PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1024 + k)));
            int owner = before.Owner(key);
            owned[owner]++;
            int now = after.Owner(key);
            if (owner == 3)
            {
                moved++;
                Assert.InRange(now, 0, 2);
            }
            else
            {
                Assert.Equal(owner, now); // everyone else stays
            }
        }

        Assert.Equal(owned[3], moved);
        Assert.All(owned, n => Assert.InRange(n, Keys * 0.20, Keys * 0.30)); // a quarter each, within a few percent
    }

    [Fact]
    public void Weights_set_the_shares_and_the_order_of_upstreams_does_not_matter()
    {
        Upstream light = Upstream("10.0.0.1:53"), heavy = Upstream("10.0.0.2:53", weight: 3);
        var ring = new HashRing([light, heavy]);
        var reversed = new HashRing([heavy, light]);
        int heavyKeys = 0;
        for (int k = 0; k < Keys; k++)
        {
            ulong key = HashRing.KeyOf(PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("2001:db8::1"), 1024 + k)));
            int owner = ring.Owner(key);
            heavyKeys += owner;
            Assert.Equal(owner, 1 - reversed.Owner(key));
        }

        Assert.InRange(heavyKeys, Keys * 0.70, Keys * 0.80);
    }

    [Fact]
    public void An_owner_that_is_not_accepted_passes_its_keys_to_the_next_point_clockwise()
    {
        var ring = new HashRing([Upstream("10.0.0.1:53"), Upstream("10.0.0.2:53")]);
        Assert.Equal(1, ring.Owner(12345, owner => owner == 1));
        Assert.Equal(-1, ring.Owner(12345, _ => false));
    }

    private static Upstream Upstream(string endPoint, int weight = 1) =>
        new(new UpstreamOptions(IPEndPoint.Parse(endPoint)) { Weight = weight }, loops: 1);
}
