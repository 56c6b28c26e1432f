using UdpSessions.Internal;

namespace UdpSessions;

public sealed partial class Session
{
    /// <summary>The peer moved to <paramref name="peer"/> (UdpEngine.MigrateSession, on the home loop, after the address map was re-keyed).</summary>
    internal void MoveTo(in PeerAddress peer)
    {
        Peer = peer;
        RemoteEndPoint = peer.ToIPEndPoint();
    }
}
