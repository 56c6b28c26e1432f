namespace UdpSessions.Internal;

/// <summary>
/// What identifies a session: the peer's address and port and, on a wildcard listener, the server address the peer
/// wrote to (a UDP session is a 4-tuple, like a TCP connection: a client socket that writes to two addresses of the
/// server has two sessions, each answered from its own address). Elsewhere the local part is left empty.
/// </summary>
internal readonly record struct SessionKey(PeerAddress Peer, PeerAddress Local);
