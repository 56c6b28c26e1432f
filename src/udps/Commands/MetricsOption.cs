using System.CommandLine;
using UdpSessions.Cli.Metrics;

namespace UdpSessions.Cli.Commands;

/// <summary>
/// <c>--metrics http://HOST:PORT/</c> for every command that runs servers: serves their <c>UdpSessions</c> meter in
/// Prometheus text format at /metrics while the command runs.
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

    /// <summary>
    /// Starts serving <paramref name="servers"/>' metrics when the option was given (<paramref name="endpoint"/> null
    /// when it was not). False, after saying why on stderr, when the address cannot be served.
    /// </summary>
    public bool TryStart(ParseResult parseResult, IReadOnlyList<SessionServer> servers, string commandName, out PrometheusEndpoint? endpoint)
    {
        endpoint = null;
        if (parseResult.GetValue(_option) is not MetricsEndpoint address)
        {
            return true;
        }

        try
        {
            endpoint = PrometheusEndpoint.Start(address, servers);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"{commandName}: cannot serve metrics on {address.ScrapeUrl}: {e.InnerException?.Message ?? e.Message}");
            return false;
        }

        Console.WriteLine($"{commandName}: Prometheus metrics on {address.ScrapeUrl}");
        return true;
    }
}
