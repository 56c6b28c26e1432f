using System.Globalization;
using System.Text.RegularExpressions;

namespace UdpSessions.Cli.Tests;

/// <summary>A Prometheus text exposition, parsed just enough to look up samples and metric types.</summary>
internal sealed partial class PrometheusScrape
{
    private readonly Dictionary<string, string> _types = [];
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

    public PrometheusScrape(string text)
    {
        Text = text;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ');
                _types[parts[2]] = parts[3];
                continue;
            }

            Match sample = Sample().Match(line);
            if (sample.Success)
            {
                Dictionary<string, string> labels = Label().Matches(sample.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
                _samples.Add((sample.Groups["name"].Value, labels, double.Parse(sample.Groups["value"].Value, CultureInfo.InvariantCulture)));
            }
        }
    }

    public string Text { get; }

    public string? TypeOf(string metric) => _types.GetValueOrDefault(metric);

    /// <summary>The value of the one sample of <paramref name="metric"/> whose labels include all of <paramref name="labels"/>; null when there is none.</summary>
    public double? Value(string metric, params (string Key, string Value)[] labels)
    {
        var matches = _samples.Where(s => s.Name == metric && labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).ToList();
        return matches.Count switch
        {
            0 => null,
            1 => matches[0].Value,
            _ => throw new InvalidOperationException($"{matches.Count} samples of {metric} match"),
        };
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)")]
    private static partial Regex Sample();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex Label();
}
