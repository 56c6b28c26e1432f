using System.Globalization;
using System.Text.RegularExpressions;

namespace UdpSessions.Cli.Metrics;

/// <summary>
/// Where <c>--metrics</c> serves: <c>http://HOST:PORT/</c>, scraped at <c>/metrics</c> (or at the path given).
/// HOST is an IPv4 address or a host name. The exporter's HttpListener binds that one address and answers only requests
/// addressed to HOST (it matches the Host header), so scrape it by the same name; it accepts no wildcard (<c>+</c>,
/// <c>*</c>, 0.0.0.0) and no IPv6 literal.
/// </summary>
internal sealed partial record MetricsEndpoint(string Host, int Port, string Path)
{
    public const string DefaultPath = "/metrics";

    /// <summary>The address to scrape, e.g. http://127.0.0.1:9464/metrics.</summary>
    public string ScrapeUrl => string.Create(CultureInfo.InvariantCulture, $"http://{Host}:{Port}{Path}");

    /// <summary>Parses <paramref name="text"/>; null and a reason when it is not an http://HOST:PORT/ address.</summary>
    public static MetricsEndpoint? Parse(string text, out string? problem)
    {
        Match match = Address().Match(text);
        if (!match.Success)
        {
            problem = "--metrics must be http://HOST:PORT/ with an IPv4 address or host name (for example http://127.0.0.1:9464/).";
            return null;
        }

        if (!int.TryParse(match.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            problem = "--metrics: the port must be between 1 and 65535.";
            return null;
        }

        string path = match.Groups["path"].Value.TrimEnd('/');
        problem = null;
        return new MetricsEndpoint(match.Groups["host"].Value, port, path.Length == 0 ? DefaultPath : path);
    }

    [GeneratedRegex(@"^http://(?<host>[A-Za-z0-9.\-]+):(?<port>[0-9]{1,5})(?<path>/[A-Za-z0-9._~\-/]*)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Address();
}
