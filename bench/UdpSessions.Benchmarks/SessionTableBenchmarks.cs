using BenchmarkDotNet.Attributes;
using UdpSessions.Internal;

namespace UdpSessions.Benchmarks;

/// <summary>Session lookup from an epoll event: the 64-bit event data back to a session, per datagram.</summary>
[Config(typeof(BenchmarkConfig))]
public class SessionTableBenchmarks
{
    private const int Lookups = 1024;
    private SessionTable _table = null!;
    private ulong[] _events = null!;

    [Params(1_000, 10_000)]
    public int Sessions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _table = new SessionTable(Sessions);
        var sessions = Enumerable.Range(0, Sessions).Select(i => Fixtures.NewSession(i)).ToArray();
        foreach (Session session in sessions)
        {
            _table.Add(session);
        }

        var random = new Random(42);
        _events = [.. Enumerable.Range(0, Lookups).Select(_ => SessionTable.ToEventData(sessions[random.Next(Sessions)]))];
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int FindFromEventData()
    {
        int found = 0;
        foreach (ulong data in _events)
        {
            (int slot, int generation) = SessionTable.FromEventData(data);
            if (_table.Find(slot, generation) is not null)
            {
                found++;
            }
        }

        return found;
    }
}
