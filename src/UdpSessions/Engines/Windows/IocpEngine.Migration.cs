using UdpSessions.Internal;

namespace UdpSessions.Engines.Windows;

internal sealed partial class IocpEngine
{
    /// <summary>connect() again to the peer's new address (Winsock allows re-connecting a UDP socket). Untested: the Windows lane does not run DTLS.</summary>
    protected override bool ReconnectSessionSocket(Session session, in PeerAddress newPeer) =>
        WindowsSocket.Connect(session.Socket!, newPeer) == 0;
}
