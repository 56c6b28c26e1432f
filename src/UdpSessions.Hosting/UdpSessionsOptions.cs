using System.Net;

namespace UdpSessions.Hosting;

/// <summary>
/// A server that <c>AddUdpSessions</c> runs (named options: the name is the server's). In configuration everything sits flat in one section:
/// <c>"UdpSessions": { "Address": "0.0.0.0", "Port": 9000, "Transport": "Tcp", "IdleTimeout": "00:00:30", "Tcp": { "Framing": "LengthPrefix16" } }</c>
/// (every <see cref="SessionServerOptions"/> property by name, apart from EndPoint, which is Address and Port).
/// </summary>
public sealed class UdpSessionsOptions
{
    /// <summary>The configuration section <c>AddUdpSessions(IConfiguration)</c> users usually pass: "UdpSessions".</summary>
    public const string SectionName = "UdpSessions";

    /// <summary>
    /// The address to listen on: IPv4 or IPv6 ("0.0.0.0", "::", "127.0.0.1"), or a host name ("localhost"), resolved
    /// when the host starts to its first IPv4 address (else its first IPv6 one). Default: "0.0.0.0".
    /// </summary>
    public string Address { get; set; } = "0.0.0.0";

    /// <summary>The port to listen on; 0 picks a free one (see <see cref="SessionServer.LocalEndPoint"/>). Default: 0.</summary>
    public int Port { get; set; }

    /// <summary>Every other setting of the server (transport, engine, threads, idle timeout, limits, TCP framing).</summary>
    public SessionServerOptions Server { get; set; } = new();

    /// <summary>
    /// More endpoints, by name, each its own server with the same handler and settings (see
    /// <see cref="UdpSessionsListenerOptions"/>): the way to serve one port over UDP and TCP at once.
    /// </summary>
    public Dictionary<string, UdpSessionsListenerOptions> Listeners { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// When the host stops (SIGTERM from systemd or a deploy), drain every server (<see cref="SessionServer.DrainAsync"/>:
    /// no new peer, sessions kept on sockets of their own and served until they end) for up to
    /// <see cref="SessionServerOptions.DrainTimeout"/>, within the host's shutdown timeout, instead of closing every
    /// session at once (docs/operations.md). Default: false.
    /// </summary>
    public bool DrainOnStop { get; set; }

    /// <summary>
    /// Serve the datagram sockets systemd passed to the process (socket activation, <see cref="SocketActivation.DatagramSockets"/>)
    /// on the main server instead of binding <see cref="Address"/> and <see cref="Port"/>, when it passed any, as
    /// Kestrel's <c>UseSystemd</c> does; pair with <c>Microsoft.Extensions.Hosting.Systemd</c> (<c>AddSystemd()</c>) for
    /// the service's readiness and logging. Default: false.
    /// </summary>
    public bool UseSystemdSockets { get; set; }

    /// <summary>Configuration keys that no setting reads (found when bound from configuration); reported by validation.</summary>
    internal List<string> UnknownKeys { get; } = [];

    /// <summary>The main server's options, with <see cref="Address"/> and <see cref="Port"/> as its endpoint.</summary>
    internal SessionServerOptions BuildServerOptions()
    {
        Server.EndPoint = new IPEndPoint(AddressResolution.Resolve(Address), Port);
        if (UseSystemdSockets && SocketActivation.DatagramSockets() is { Count: > 0 } sockets)
        {
            Server.ListenerFileDescriptors = sockets;
        }

        return Server;
    }

    /// <summary>The main server ("") and every listener, in name order, each with its own copy of the options.</summary>
    internal IEnumerable<(string Name, SessionServerOptions Options)> BuildAllServerOptions()
    {
        SessionServerOptions main = BuildServerOptions();
        yield return (string.Empty, main);
        foreach ((string name, UdpSessionsListenerOptions listener) in Listeners.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            SessionServerOptions options = main.Clone();
            options.EndPoint = new IPEndPoint(AddressResolution.Resolve(listener.Address ?? Address), listener.Port ?? Port);
            options.Transport = listener.Transport;
            options.Tcp = listener.Tcp ?? main.Tcp.Clone();
            options.ListenerFileDescriptors = null; // systemd's sockets are the main server's
            options.HandoverPath = main.HandoverPath is null ? null : $"{main.HandoverPath}.{name}"; // one handover socket per server
            yield return (name, options);
        }
    }
}
