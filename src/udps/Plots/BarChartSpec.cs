using System.Text.Json;

namespace UdpSessions.Cli.Plots;

/// <summary>
/// A grouped bar chart described in JSON (bench/report.py writes one for BENCHMARKS.md): one panel per measure, one
/// group of bars per category, one bar per series; a null value is a gap (no run).
/// <code>{ "categories": ["1x16", "64x16"], "series": ["udps", "c"],
///   "panels": [ { "title": "µs per datagram", "values": [[2.7, 2.8], [2.5, 2.6]] } ] }</code>
/// <c>values[s][c]</c> is series s in category c.
/// </summary>
internal sealed record BarChartSpec(IReadOnlyList<string> Categories, IReadOnlyList<string> Series, IReadOnlyList<BarPanel> Panels)
{
    /// <exception cref="PlotException">The file is not such a description.</exception>
    public static BarChartSpec Read(string path)
    {
        BarChartSpec spec;
        try
        {
            using FileStream stream = File.OpenRead(path);
            using JsonDocument document = JsonDocument.Parse(stream);
            JsonElement root = document.RootElement;
            spec = new BarChartSpec(
                Strings(root.GetProperty("categories")),
                Strings(root.GetProperty("series")),
                [.. root.GetProperty("panels").EnumerateArray().Select(panel => new BarPanel(
                    panel.GetProperty("title").GetString() ?? "",
                    [.. panel.GetProperty("values").EnumerateArray().Select(row => (IReadOnlyList<double?>)
                        [.. row.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? (double?)null : v.GetDouble())])]))]);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new PlotException($"{path}: not a bar chart description ({e.Message})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PlotException($"cannot read {path}: {e.Message}", e);
        }

        foreach (BarPanel panel in spec.Panels)
        {
            if (panel.Values.Count != spec.Series.Count || panel.Values.Any(row => row.Count != spec.Categories.Count))
            {
                throw new PlotException($"{path}: panel \"{panel.Title}\" needs {spec.Series.Count} rows (series) of {spec.Categories.Count} values (categories).");
            }
        }

        return spec.Panels.Count == 0 ? throw new PlotException($"{path}: no panels.") : spec;
    }

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString() ?? "")];
}

/// <summary>One measure: <see cref="Values"/>[series][category].</summary>
internal sealed record BarPanel(string Title, IReadOnlyList<IReadOnlyList<double?>> Values);
