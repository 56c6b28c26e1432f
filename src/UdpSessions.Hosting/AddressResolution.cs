using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Hosting;

/// <summary>
/// An address from configuration: an IPv4 or IPv6 literal, or a host name (<c>localhost</c>, a name in /etc/hosts or
/// DNS) resolved when the host starts, to its first IPv4 address, else its first IPv6 address.
/// </summary>
internal static class AddressResolution
{
    public static bool TryResolve(string? text, out IPAddress address, out string? problem)
    {
        address = IPAddress.None;
        problem = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "is empty";
            return false;
        }

        if (IPAddress.TryParse(text, out IPAddress? literal))
        {
            address = literal;
            return true;
        }

        try
        {
            IPAddress[] found = Dns.GetHostAddresses(text);
            IPAddress? chosen = found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
                ?? found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6);
            if (chosen is null)
            {
                problem = "is a host name without an IPv4 or IPv6 address";
                return false;
            }

            address = chosen;
            return true;
        }
        catch (Exception exception) when (exception is SocketException or ArgumentException)
        {
            problem = $"is neither an IPv4 or IPv6 address nor a host name that resolves ({exception.Message})";
            return false;
        }
    }

    /// <summary>Resolves <paramref name="text"/>; options were validated before, so a failure here is a changed name server.</summary>
    public static IPAddress Resolve(string text) =>
        TryResolve(text, out IPAddress address, out string? problem) ? address : throw new InvalidOperationException($"UdpSessions: Address '{text}' {problem}.");
}
