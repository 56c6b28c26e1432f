using UdpSessions.Internal;

namespace UdpSessions.Tests.Internal;

/// <summary>The idle-timeout wheel, driven with a synthetic clock.</summary>
public class TimerWheelTests
{
    private const long Start = 1_000_000; // ms; any clock value works
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(800); // tick 100 ms

    [Fact]
    public void A_session_expires_at_its_timeout_and_not_one_millisecond_before()
    {
        var wheel = new TimerWheel(Timeout, Start);
        Session session = InternalFixtures.NewSession(Start);
        wheel.Schedule(session);
        var expired = new List<Session>();

        for (long now = Start; now < Start + 800; now += 7)
        {
            wheel.Advance(now, expired.Add);
        }

        wheel.Advance(Start + 799, expired.Add);
        Assert.Empty(expired);
        Assert.Equal(1, wheel.Count);

        wheel.Advance(Start + 800, expired.Add);
        Assert.Equal([session], expired);
        Assert.Equal(0, wheel.Count);

        // Expired once only.
        wheel.Advance(Start + 5_000, expired.Add);
        Assert.Single(expired);
    }

    [Fact]
    public void An_unaligned_deadline_is_late_by_less_than_one_tick_never_early()
    {
        var wheel = new TimerWheel(Timeout, Start);
        Session session = InternalFixtures.NewSession(Start + 50);
        wheel.Schedule(session);
        var expired = new List<Session>();

        wheel.Advance(Start + 849, expired.Add);
        Assert.Empty(expired);
        wheel.Advance(Start + 50 + 800 + 100, expired.Add);
        Assert.Equal([session], expired);
    }

    [Fact]
    public void An_active_session_is_refiled_instead_of_expired()
    {
        var wheel = new TimerWheel(Timeout, Start);
        Session active = InternalFixtures.NewSession(Start);
        Session idle = InternalFixtures.NewSession(Start);
        wheel.Schedule(active);
        wheel.Schedule(idle);
        var expired = new List<Session>();

        // Activity only stamps the session; the wheel notices when its bucket comes round.
        active.LastActivity = Start + 500;
        wheel.Advance(Start + 800, expired.Add);
        Assert.Equal([idle], expired);
        Assert.Equal(1, wheel.Count);

        active.LastActivity = Start + 1_200;
        wheel.Advance(Start + 1_300, expired.Add);
        wheel.Advance(Start + 1_999, expired.Add);
        Assert.Equal([idle], expired);

        wheel.Advance(Start + 2_000, expired.Add);
        Assert.Equal([idle, active], expired);
        Assert.Equal(0, wheel.Count);
    }

    [Fact]
    public void Removed_sessions_never_expire_and_the_others_are_unaffected()
    {
        var wheel = new TimerWheel(Timeout, Start);
        Session[] sessions = [.. Enumerable.Range(0, 5).Select(_ => InternalFixtures.NewSession(Start))];
        foreach (Session session in sessions)
        {
            wheel.Schedule(session);
        }

        wheel.Remove(sessions[0]); // head of the bucket list
        wheel.Remove(sessions[2]); // middle
        wheel.Remove(sessions[4]); // tail
        wheel.Remove(sessions[4]); // twice is harmless
        Assert.Equal(2, wheel.Count);

        var expired = new List<Session>();
        wheel.Advance(Start + 800, expired.Add);
        Assert.Equal(new HashSet<Session> { sessions[1], sessions[3] }, expired.ToHashSet());
    }

    [Fact]
    public void A_long_stall_expires_everything_due_in_one_advance()
    {
        var wheel = new TimerWheel(Timeout, Start);
        var sessions = new List<Session>();
        for (int i = 0; i < 50; i++)
        {
            Session session = InternalFixtures.NewSession(Start + (i * 14));
            sessions.Add(session);
            wheel.Advance(Start + (i * 14), _ => Assert.Fail("nothing is due yet"));
            wheel.Schedule(session);
        }

        var expired = new List<Session>();
        wheel.Advance(Start + 60_000, expired.Add); // far more than one revolution of the wheel
        Assert.Equal(sessions.ToHashSet(), expired.ToHashSet());
        Assert.Equal(sessions.Count, expired.Count);
        Assert.Equal(0, wheel.Count);
    }

    [Fact]
    public void The_wait_until_the_next_tick_is_within_one_tick()
    {
        var wheel = new TimerWheel(Timeout, Start);
        Assert.InRange(wheel.MillisecondsUntilNextTick(Start), 0, 100);
        Assert.Equal(0, wheel.MillisecondsUntilNextTick(Start + 10_000));
    }
}
