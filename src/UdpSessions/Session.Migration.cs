using UdpSessions.Internal;

namespace UdpSessions;

public sealed partial class Session
{
    /// <summary>
    /// The peer moved to <paramref name="peer"/>, now under <paramref name="key"/> in the address map
    /// (UdpEngine.MigrateSession, on the home loop, after the map was re-keyed).
    /// </summary>
    internal void MoveTo(in PeerAddress peer, in SessionKey key)
    {
        Peer = peer;
        Key = key;
        _remoteEndPoint = peer.ToIPEndPoint();
    }
}
