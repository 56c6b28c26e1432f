using UdpSessions.Dtls;

namespace UdpSessions;

public sealed partial class Session
{
    /// <summary>
    /// What the DTLS handshake established (cipher suite, PSK identity, connection ID) when the server runs DTLS
    /// (<see cref="SessionServerOptions.Dtls"/>); null on a plain UDP or TCP server. Set before
    /// <see cref="SessionHandler.OnSessionAccepted"/> runs.
    /// </summary>
    public DtlsSessionInfo? Dtls { get; internal set; }
}
