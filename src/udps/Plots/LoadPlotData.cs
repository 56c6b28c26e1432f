using System.Text.Json;
using UdpSessions.Cli.Load;

namespace UdpSessions.Cli.Plots;

/// <summary>What the picture of one load run shows, from a finished run or from its <c>udps load --json</c> output.</summary>
internal sealed record LoadPlotData(
    string Label, IReadOnlyList<LatencyPoint> Latency, double IntervalSeconds, long[] Replies, double MeasureStartSeconds, double MeasureEndSeconds)
{
    public static LoadPlotData FromResult(LoadResult result, string label) => new(
        label, result.LatencyDistribution, result.Timeline.Interval.TotalSeconds, result.Timeline.Replies,
        result.Timeline.MeasureStart.TotalSeconds, result.Timeline.MeasureEnd.TotalSeconds);

    /// <summary>Reads the fields <see cref="LoadJson"/> writes for pictures.</summary>
    /// <exception cref="PlotException">The file is not JSON from <c>udps load --json</c> with those fields.</exception>
    public static LoadPlotData FromJson(string path, string label)
    {
        try
        {
            using FileStream stream = File.OpenRead(path);
            using JsonDocument document = JsonDocument.Parse(stream);
            JsonElement root = document.RootElement;
            JsonElement timeline = root.GetProperty("timeline");
            return new LoadPlotData(
                label,
                [.. root.GetProperty("latencyPercentiles").EnumerateArray()
                    .Select(p => new LatencyPoint(p.GetProperty("percentile").GetDouble(), p.GetProperty("micros").GetInt64()))],
                timeline.GetProperty("intervalSeconds").GetDouble(),
                [.. timeline.GetProperty("replies").EnumerateArray().Select(r => r.GetInt64())],
                timeline.GetProperty("measureStartSeconds").GetDouble(),
                timeline.GetProperty("measureEndSeconds").GetDouble());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new PlotException($"{path}: not the JSON of udps load --json with latencyPercentiles and timeline ({e.Message})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PlotException($"cannot read {path}: {e.Message}", e);
        }
    }
}
