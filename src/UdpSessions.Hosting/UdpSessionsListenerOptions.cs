namespace UdpSessions.Hosting;

/// <summary>
/// One more endpoint served with the same handler and settings as the main one, typically the same port over the
/// other protocol: <c>"Listeners": { "tcp": { "Transport": "Tcp" } }</c>. What is not set is taken from the main server.
/// </summary>
public sealed class UdpSessionsListenerOptions
{
    /// <summary>The address (IPv4, IPv6 or a host name, as <see cref="UdpSessionsOptions.Address"/>); null: the main one.</summary>
    public string? Address { get; set; }

    /// <summary>The port; null: the main <see cref="UdpSessionsOptions.Port"/> (0 there picks a free port for each).</summary>
    public int? Port { get; set; }

    /// <summary>The protocol of this endpoint. Default: UDP.</summary>
    public SessionTransport Transport { get; set; } = SessionTransport.Udp;

    /// <summary>TCP settings; null: the main server's <see cref="SessionServerOptions.Tcp"/>.</summary>
    public TcpOptions? Tcp { get; set; }
}
