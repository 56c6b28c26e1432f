using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Cli.Forward;

/// <summary>Reads HOST:PORT (an IPv4 address, [IPv6] or a host name) and HOST:PORT,weight=N arguments.</summary>
internal static class EndPointParser
{
    /// <summary>The endpoint, or null with <paramref name="problem"/> saying why.</summary>
    public static IPEndPoint? Parse(string text, out string? problem, bool allowPortZero = false)
    {
        problem = null;
        int lowest = allowPortZero ? 0 : 1;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port < lowest || port > 65535)
        {
            problem = $"'{text}' is not HOST:PORT with a port from {lowest} to 65535.";
            return null;
        }

        if (IPEndPoint.TryParse(text, out IPEndPoint? endPoint) && (endPoint.AddressFamily == AddressFamily.InterNetwork || text.StartsWith('[')))
        {
            return endPoint; // a literal address (IPv6 needs its brackets: "::1:53" is ambiguous)
        }

        string host = text[..colon];
        try
        {
            IPAddress[] addresses = Dns.GetHostAddresses(host);
            IPAddress? address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
            if (address is not null)
            {
                return new IPEndPoint(address, port);
            }
        }
        catch (SocketException)
        {
        }

        problem = $"'{host}' is not an address or a host name that resolves.";
        return null;
    }

    /// <summary>HOST:PORT with an optional ",weight=N" (1 to 1000).</summary>
    public static UpstreamOptions? ParseUpstream(string text, out string? problem)
    {
        string[] parts = text.Split(',', 2);
        IPEndPoint? endPoint = Parse(parts[0], out problem);
        if (endPoint is null)
        {
            return null;
        }

        int weight = 1;
        if (parts.Length == 2 && (!parts[1].StartsWith("weight=", StringComparison.Ordinal)
            || !int.TryParse(parts[1].AsSpan("weight=".Length), NumberStyles.None, CultureInfo.InvariantCulture, out weight) || weight is < 1 or > 1000))
        {
            problem = $"'{text}': after the endpoint only ',weight=N' (1 to 1000) may follow.";
            return null;
        }

        return new UpstreamOptions(endPoint) { Weight = weight };
    }
}
