using BenchmarkDotNet.Attributes;
using UdpSessions.Internal;

namespace UdpSessions.Benchmarks;

/// <summary>The idle-timeout wheel: filing a session, and a tick that re-files sessions that stayed active.</summary>
[Config(typeof(BenchmarkConfig))]
public class TimerWheelBenchmarks
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private Session[] _sessions = null!;
    private TimerWheel _wheel = null!;
    private long _now;

    [Params(10_000)]
    public int Sessions { get; set; }

    [GlobalSetup]
    public void Setup() => _sessions = [.. Enumerable.Range(0, Sessions).Select(i => Fixtures.NewSession(i))];

    [IterationSetup(Target = nameof(ScheduleAndRemove))]
    public void NewWheel()
    {
        _now = 0;
        _wheel = new TimerWheel(Timeout, 0);
    }

    [Benchmark(OperationsPerInvoke = 10_000)]
    public int ScheduleAndRemove()
    {
        foreach (Session session in _sessions)
        {
            _wheel.Schedule(session);
        }

        foreach (Session session in _sessions)
        {
            _wheel.Remove(session);
        }

        return _wheel.Count;
    }

    [IterationSetup(Target = nameof(AdvanceRefilesActiveSessions))]
    public void FullWheel()
    {
        _now = 0;
        _wheel = new TimerWheel(Timeout, 0);
        foreach (Session session in _sessions)
        {
            session.LastActivity = 0;
            _wheel.Schedule(session);
        }
    }

    /// <summary>Every session was active just before its deadline: the tick re-files all of them and expires none.</summary>
    [Benchmark(OperationsPerInvoke = 10_000)]
    public int AdvanceRefilesActiveSessions()
    {
        _now += (long)Timeout.TotalMilliseconds;
        foreach (Session session in _sessions)
        {
            session.LastActivity = _now - 1;
        }

        int expired = 0;
        _wheel.Advance(_now + 1_000, _ => expired++);
        return expired;
    }
}
