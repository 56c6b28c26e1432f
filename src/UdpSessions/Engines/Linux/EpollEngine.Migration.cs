using UdpSessions.Interop.Linux;
using UdpSessions.Internal;

namespace UdpSessions.Engines.Linux;

internal sealed partial class EpollEngine
{
    /// <summary>
    /// connect() again: a connected UDP socket may be re-connected, and the kernel re-hashes it under the new 4-tuple,
    /// so the peer's datagrams from its new address reach the socket (those already queued on the listener are routed
    /// through the re-keyed address map). The local address must stay the one the peer writes to.
    /// </summary>
    protected override bool ReconnectSessionSocket(Session session, in PeerAddress newPeer)
    {
        var socket = (SafeFdHandle)session.Socket!;
        if (LinuxSocket.Connect(socket, newPeer) == 0 && LocalAddressOf(socket) == session.Local)
        {
            return true;
        }

        LinuxSocket.Connect(socket, session.Peer);
        return false;
    }

    private static PeerAddress? LocalAddressOf(SafeFdHandle socket)
    {
        try
        {
            return LinuxSocket.GetLocalAddress(socket);
        }
        catch (System.Net.Sockets.SocketException)
        {
            return null;
        }
    }
}
