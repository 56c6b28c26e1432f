using System.Collections.Concurrent;

namespace TelemetryCollector;

/// <summary>Running count, sum, minimum and maximum of every metric seen, from any number of sessions at once.</summary>
public sealed class ReadingStore
{
    private readonly ConcurrentDictionary<string, Aggregate> _metrics = new(StringComparer.Ordinal);
    private long _rejected;

    public long Rejected => Interlocked.Read(ref _rejected);

    public void Add(string metric, double value) => _metrics.GetOrAdd(metric, _ => new Aggregate()).Add(value);

    public void Reject() => Interlocked.Increment(ref _rejected);

    public IEnumerable<(string Metric, long Count, double Mean, double Min, double Max)> Snapshot() =>
        _metrics.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => pair.Value.Read(pair.Key));

    private sealed class Aggregate
    {
        private readonly Lock _lock = new();
        private long _count;
        private double _sum;
        private double _min = double.MaxValue;
        private double _max = double.MinValue;

        public void Add(double value)
        {
            lock (_lock)
            {
                _count++;
                _sum += value;
                _min = Math.Min(_min, value);
                _max = Math.Max(_max, value);
            }
        }

        public (string, long, double, double, double) Read(string metric)
        {
            lock (_lock)
            {
                return (metric, _count, _count == 0 ? 0 : _sum / _count, _min, _max);
            }
        }
    }
}
