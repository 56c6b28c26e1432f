namespace UdpSessions;

/// <summary>
/// Where the epoll engine serves a session's datagrams: through its I/O thread's listening socket and the address map
/// (batched reads and writes, cheapest per datagram and per new session), or on a connected socket of its own (the
/// kernel routes the peer's datagrams straight to it: its own receive buffer, ICMP errors for it alone, no lookup).
/// Other engines ignore it, and so does an IPv4 wildcard listener (0.0.0.0): its sessions always stay on the listeners,
/// because the kernel cannot connect a socket bound to 0.0.0.0 without an instant in which a new peer's datagram can
/// miss every socket (listen on a specific address or on [::] for sockets of their own; docs/design.md).
/// </summary>
public enum SessionPlacement
{
    /// <summary>
    /// Every session starts on the listener; one that keeps several datagrams in flight
    /// (<see cref="SessionServerOptions.PromotionQueuedDatagramsPerSecond"/>) is promoted to a socket of its own, up to
    /// <see cref="SessionServerOptions.SocketBudget"/> sockets. The default; on kernels before 6.13 it promotes nothing
    /// (they score every connected socket of a port for each datagram).
    /// </summary>
    Adaptive = 0,

    /// <summary>Every session stays on the listener (the address-map design).</summary>
    AddressMap,

    /// <summary>Every session gets a socket of its own right after its first datagram (the article's design), within <see cref="SessionServerOptions.SocketBudget"/> and the fd limit.</summary>
    OwnSocket,
}
