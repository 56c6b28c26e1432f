namespace UdpSessions.Internal;

/// <summary>
/// What identifies a session: the peer's address and port and, on a wildcard listener, the server address the peer
/// wrote to (a UDP session is a 4-tuple, like a TCP connection: a client socket that writes to two addresses of the
/// server has two sessions, each answered from its own address). Elsewhere the local part is left empty, and the hash
/// (computed for every datagram a listener reads) covers the peer alone.
/// </summary>
internal readonly struct SessionKey(PeerAddress peer, PeerAddress local) : IEquatable<SessionKey>
{
    public PeerAddress Peer { get; } = peer;

    public PeerAddress Local { get; } = local;

    public bool Equals(SessionKey other) => Peer == other.Peer && Local == other.Local;

    public override bool Equals(object? obj) => obj is SessionKey other && Equals(other);

    // PeerAddress hashes with HashCode (seeded per process), so a flood cannot aim its sources at one bucket.
    public override int GetHashCode() => Local.Port == 0 ? Peer.GetHashCode() : HashCode.Combine(Peer, Local);

    public static bool operator ==(SessionKey left, SessionKey right) => left.Equals(right);

    public static bool operator !=(SessionKey left, SessionKey right) => !left.Equals(right);
}
