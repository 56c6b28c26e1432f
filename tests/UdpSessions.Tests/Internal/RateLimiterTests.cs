using System.Net;
using UdpSessions.Internal;

namespace UdpSessions.Tests.Internal;

/// <summary>The new-session rate limits on their own, with an explicit clock (milliseconds).</summary>
public class RateLimiterTests
{
    [Fact]
    public void The_overall_bucket_allows_a_burst_of_one_seconds_rate_then_the_rate()
    {
        var limiter = new NewSessionRateLimiter(new SessionServerOptions { MaxNewSessionsPerSecond = 100 }, now: 0);
        Assert.Equal(100, Admitted(limiter, Peers(1_000), now: 0));
        Assert.Equal(0, Admitted(limiter, Peers(10), now: 0));
        Assert.Equal(10, Admitted(limiter, Peers(50), now: 100)); // 100 ms later: 10 tokens
        Assert.Equal(100, Admitted(limiter, Peers(1_000), now: 60_000)); // a long pause refills to the burst, not beyond
    }

    [Fact]
    public void The_per_source_limit_keys_on_the_prefix()
    {
        var options = new SessionServerOptions { MaxNewSessionsPerSecondPerSource = 3, SourcePrefixLengthIPv4 = 24, SourcePrefixLengthIPv6 = 48 };
        var limiter = new NewSessionRateLimiter(options, now: 0);
        Assert.Equal(3, Admitted(limiter, Enumerable.Range(1, 20).Select(i => Peer($"10.1.2.{i}", i)), now: 0));
        Assert.Equal(3, Admitted(limiter, Enumerable.Range(1, 20).Select(i => Peer($"::ffff:10.1.3.{i}", i)), now: 0));
        Assert.Equal(3, Admitted(limiter, Enumerable.Range(1, 20).Select(i => Peer($"2001:db8:1:{i:x}::1", i)), now: 0));
        Assert.Equal(3, Admitted(limiter, [Peer("2001:db8:2::1", 1), Peer("2001:db8:3::1", 1), Peer("10.1.4.1", 1)], now: 0));
        Assert.Equal(DropReason.SourceRateLimit, limiter.TryAdmit(Peer("10.1.2.200", 9), now: 0));
        Assert.Null(limiter.TryAdmit(Peer("10.1.2.200", 9), now: 400)); // 400 ms at 3/s: one token back
    }

    [Theory]
    [InlineData(24, "10.1.2.255", "10.1.2.0")]
    [InlineData(32, "10.1.2.255", "10.1.2.255")]
    [InlineData(0, "10.1.2.255", "0.0.0.0")]
    [InlineData(13, "10.255.2.255", "10.248.0.0")]
    public void Ipv4_prefixes(int bits, string address, string expected) =>
        Assert.Equal(Peer(expected, 0), Peer(address, 1234).ToPrefix(bits, 64));

    [Theory]
    [InlineData(64, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::")]
    [InlineData(128, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6")]
    [InlineData(56, "2001:db8:1:2ff::1", "2001:db8:1:200::")]
    [InlineData(96, "2001:db8::ffff:ffff:1:2", "2001:db8::ffff:ffff:0:0")]
    [InlineData(0, "2001:db8::1", "::")]
    public void Ipv6_prefixes(int bits, string address, string expected) =>
        Assert.Equal(Peer(expected, 0), Peer(address, 1234).ToPrefix(32, bits));

    /// <summary>
    /// 100,000 flooding sources through a 16-slot table: the table does not grow, no source gets more than its own
    /// rate even when sharing slots (sharing only limits more), and once the flood stops a source is admitted again.
    /// </summary>
    [Fact]
    public void A_flood_of_sources_cannot_grow_the_table_or_get_more_than_the_rate()
    {
        var options = new SessionServerOptions { MaxNewSessionsPerSecondPerSource = 2, SourceTableSize = 16 };
        var limiter = new NewSessionRateLimiter(options, now: 0);
        Assert.Equal(16, limiter.SourceTableSize);
        var random = new Random(7);
        var perSource = new Dictionary<PeerAddress, int>();
        for (int i = 0; i < 100_000; i++)
        {
            PeerAddress peer = Peer($"10.{random.Next(4)}.{random.Next(256)}.{random.Next(256)}", 1);
            if (limiter.TryAdmit(peer, now: i / 100) is null) // 100 datagrams per millisecond, 1 s in all
            {
                perSource[peer] = perSource.GetValueOrDefault(peer) + 1;
            }
        }

        Assert.Equal(16, limiter.SourceTableSize);
        Assert.All(perSource.Values, count => Assert.InRange(count, 1, 2 + 2)); // burst + 1 s at the rate
        Assert.Null(limiter.TryAdmit(Peer("10.9.9.9", 1), now: 5_000));
    }

    [Fact]
    public void Without_limits_every_peer_is_admitted()
    {
        var limiter = new NewSessionRateLimiter(new SessionServerOptions(), now: 0);
        Assert.Equal(10_000, Admitted(limiter, Peers(10_000), now: 0));
        Assert.Equal(0, limiter.SourceTableSize);
    }

    private static int Admitted(NewSessionRateLimiter limiter, IEnumerable<PeerAddress> peers, long now) =>
        peers.Count(peer => limiter.TryAdmit(peer, now) is null);

    private static IEnumerable<PeerAddress> Peers(int count) => Enumerable.Range(0, count).Select(i => Peer($"10.0.{i / 250}.{i % 250}", 1000 + i));

    private static PeerAddress Peer(string address, int port) => PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse(address), port));
}
