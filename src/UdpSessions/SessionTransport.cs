namespace UdpSessions;

/// <summary>The protocol a <see cref="SessionServer"/> listens with; every <see cref="Session"/> reports its own.</summary>
public enum SessionTransport
{
    /// <summary>UDP: a session per peer address, one datagram per message.</summary>
    Udp = 0,

    /// <summary>TCP: a session per accepted connection, messages cut from the stream by <see cref="TcpOptions.Framing"/>.</summary>
    Tcp,
}
