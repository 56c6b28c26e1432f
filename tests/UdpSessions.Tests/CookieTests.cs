using System.Net;

namespace UdpSessions.Tests;

/// <summary>
/// The stateless cookie: valid only for its peer, its time window and the current or previous key; and, as a decoder
/// of untrusted bytes, never valid for anything else and never throwing (a seeded randomized test).
/// </summary>
public class CookieTests
{
    private static readonly PeerEndPoint Alice = PeerEndPoint.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("192.0.2.10"), 5000));
    private static readonly PeerEndPoint AliceOtherPort = PeerEndPoint.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("192.0.2.10"), 5001));
    private static readonly PeerEndPoint AliceMapped = PeerEndPoint.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("::ffff:192.0.2.10"), 5000));
    private static readonly PeerEndPoint Bob = PeerEndPoint.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("2001:db8::7"), 5000));

    [Fact]
    public void A_cookie_is_valid_for_its_peer_only()
    {
        var clock = new ManualClock();
        var cookie = new StatelessCookie(timeProvider: clock);
        byte[] token = new byte[StatelessCookie.Length];
        Assert.Equal(StatelessCookie.Length, cookie.Write(Alice, token));

        Assert.True(cookie.Validate(Alice, token));
        Assert.True(cookie.Validate(AliceMapped, token), "an IPv4 peer seen through a dual-stack socket is the same peer");
        Assert.False(cookie.Validate(AliceOtherPort, token));
        Assert.False(cookie.Validate(Bob, token));
        Assert.False(new StatelessCookie(timeProvider: clock).Validate(Alice, token), "another key (another server) must not accept it");

        // Trailing bytes (the application's datagram after the cookie) do not matter; a short buffer is invalid.
        Assert.True(cookie.Validate(Alice, [.. token, 1, 2, 3]));
        Assert.False(cookie.Validate(Alice, token.AsSpan(0, StatelessCookie.Length - 1)));
        Assert.Throws<ArgumentException>(() => cookie.Write(Alice, new byte[StatelessCookie.Length - 1]));
    }

    [Fact]
    public void A_cookie_lives_between_one_and_two_slots()
    {
        var clock = new ManualClock();
        var cookie = new StatelessCookie(TimeSpan.FromSeconds(10), Timeout.InfiniteTimeSpan, clock);
        clock.Advance(TimeSpan.FromSeconds(9.9)); // late in a slot
        byte[] token = new byte[StatelessCookie.Length];
        cookie.Write(Alice, token);
        clock.Advance(TimeSpan.FromSeconds(0.2)); // next slot: still valid
        Assert.True(cookie.Validate(Alice, token));
        clock.Advance(TimeSpan.FromSeconds(9.8)); // end of the next slot
        Assert.True(cookie.Validate(Alice, token));
        clock.Advance(TimeSpan.FromSeconds(0.2)); // two slots on: expired
        Assert.False(cookie.Validate(Alice, token));
    }

    [Fact]
    public void The_previous_key_is_accepted_and_the_one_before_is_not()
    {
        var clock = new ManualClock();
        var cookie = new StatelessCookie(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), clock);
        byte[] first = new byte[StatelessCookie.Length];
        cookie.Write(Alice, first);

        cookie.RotateKey();
        Assert.True(cookie.Validate(Alice, first), "a cookie of the previous key must stay valid");
        byte[] second = new byte[StatelessCookie.Length];
        cookie.Write(Alice, second);
        Assert.NotEqual(first[1], second[1]);

        cookie.RotateKey(new byte[32]);
        Assert.False(cookie.Validate(Alice, first), "a cookie two keys old must be refused");
        Assert.True(cookie.Validate(Alice, second));

        // Rotation by time: 30 s later the key changes by itself; the cookie of the key before is refused by then (also expired).
        byte[] third = new byte[StatelessCookie.Length];
        cookie.Write(Alice, third);
        clock.Advance(TimeSpan.FromSeconds(31));
        byte[] fourth = new byte[StatelessCookie.Length];
        cookie.Write(Alice, fourth);
        Assert.NotEqual(third[1], fourth[1]);
        Assert.True(cookie.Validate(Alice, fourth));

        Assert.Throws<ArgumentException>(() => cookie.RotateKey(new byte[15]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StatelessCookie(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(19)));
    }

    /// <summary>
    /// Seeded, bounded fuzzing of the validator: random buffers of every length around the cookie's, every single-bit
    /// flip and every truncation of a valid cookie, and valid cookies carried to random other peers. None may validate,
    /// none may throw; the untouched cookies must keep validating (so the loop cannot pass by refusing everything).
    /// </summary>
    [Fact]
    public void Random_and_mutated_input_never_validates_and_never_throws()
    {
        var random = new Random(20_261_124);
        var clock = new ManualClock();
        var cookie = new StatelessCookie(timeProvider: clock);
        byte[] buffer = new byte[64];
        int validated = 0;
        for (int round = 0; round < 2_000; round++)
        {
            PeerEndPoint peer = RandomPeer(random);
            byte[] token = new byte[StatelessCookie.Length];
            cookie.Write(peer, token);
            Assert.True(cookie.Validate(peer, token));
            validated++;

            // Noise: random length and content, sometimes with a plausible header.
            int length = random.Next(0, buffer.Length + 1);
            random.NextBytes(buffer);
            if (round % 2 == 0 && length >= 6)
            {
                token.AsSpan(0, 6).CopyTo(buffer);
            }

            Assert.False(cookie.Validate(peer, buffer.AsSpan(0, length)), $"random input validated (round {round})");

            // One flipped bit anywhere.
            int bit = random.Next(StatelessCookie.Length * 8);
            byte[] flipped = (byte[])token.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(cookie.Validate(peer, flipped), $"a cookie with bit {bit} flipped validated (round {round})");

            // Truncated.
            Assert.False(cookie.Validate(peer, token.AsSpan(0, random.Next(StatelessCookie.Length))));

            // Another peer.
            PeerEndPoint other = RandomPeer(random);
            if (other != peer)
            {
                Assert.False(cookie.Validate(other, token), $"{peer}'s cookie validated for {other}");
            }

            if (round % 500 == 499)
            {
                clock.Advance(TimeSpan.FromSeconds(7)); // move through slots and keep the previous-slot path covered
            }
        }

        Assert.Equal(2_000, validated);
    }

    [Fact]
    public void Writing_and_validating_a_cookie_allocate_nothing()
    {
        var cookie = new StatelessCookie();
        byte[] token = new byte[StatelessCookie.Length];
        cookie.Write(Alice, token);
        cookie.Validate(Alice, token);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000; i++)
        {
            cookie.Write(Alice, token);
            Assert.True(cookie.Validate(Alice, token));
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1_000, $"{allocated} bytes allocated for 1,000 cookies written and validated");
    }

    private static PeerEndPoint RandomPeer(Random random)
    {
        byte[] address = new byte[random.Next(2) == 0 ? 4 : 16];
        random.NextBytes(address);
        return PeerEndPoint.FromIPEndPoint(new IPEndPoint(new IPAddress(address), random.Next(1, 65536)));
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
