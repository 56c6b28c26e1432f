namespace UdpSessions;

/// <summary>Whether a <see cref="UdpForwarder"/> tells its upstreams the client's address with a PROXY protocol v2 header.</summary>
public enum ProxyProtocolMode
{
    /// <summary>Datagrams are forwarded as they came.</summary>
    None = 0,

    /// <summary>
    /// The first datagram of every upstream session (and the first after the session moved to another upstream)
    /// starts with the header; the upstream remembers the client by its source port.
    /// </summary>
    FirstDatagram = 1,

    /// <summary>Every datagram starts with the header (upstreams that keep no state per source port).</summary>
    EveryDatagram = 2,
}
