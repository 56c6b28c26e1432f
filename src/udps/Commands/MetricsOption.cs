using System.CommandLine;
using UdpSessions.Cli.Metrics;

namespace UdpSessions.Cli.Commands;

/// <summary>
/// <c>--metrics http://HOST:PORT/</c> for every command that runs servers: where to serve their <c>UdpSessions</c>
/// meter in Prometheus text format (<see cref="PrometheusEndpoint.TryStart"/>) while the command runs.
/// </summary>
internal sealed class MetricsOption
{
    private readonly Option<MetricsEndpoint?> _option = new("--metrics")
    {
        Description = "Serve the UdpSessions meter in Prometheus text format, e.g. http://127.0.0.1:9464/ (scraped at /metrics).",
        HelpName = "http://HOST:PORT/",
        CustomParser = result =>
        {
            MetricsEndpoint? endpoint = MetricsEndpoint.Parse(result.Tokens[0].Value, out string? problem);
            if (problem is not null)
            {
                result.AddError(problem);
            }

            return endpoint;
        },
    };

    public void AddTo(Command command) => command.Options.Add(_option);

    /// <summary>The address given, or null when the option was not.</summary>
    public MetricsEndpoint? GetValue(ParseResult parseResult) => parseResult.GetValue(_option);
}
