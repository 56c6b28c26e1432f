using UdpSessions.Internal;

namespace UdpSessions.Engines;

/// <summary>
/// Lets a protocol layer (DTLS with connection IDs, RFC 9146) claim a datagram that came from an address with no
/// session, before the engine would accept that address as a new peer: the datagram names an existing session, whose
/// peer has moved (NAT rebinding). The engine hands the datagram to that session's I/O thread, where the layer
/// authenticates it and, if it proves the move, calls <see cref="UdpEngine.MigrateSession"/>.
/// </summary>
internal interface IPeerMigrationRouter
{
    /// <summary>
    /// On the thread that read the datagram (any I/O thread), for every datagram of an unknown address: the session the
    /// datagram claims to belong to, or null (the datagram then takes the new-peer path). Must be cheap, allocation-free
    /// and must not change any state: the claim is not authenticated yet.
    /// </summary>
    Session? FindSession(ReadOnlySpan<byte> datagram);

    /// <summary>
    /// On <paramref name="session"/>'s I/O thread: a datagram from <paramref name="source"/>, which is not the
    /// session's peer address. Returns what <see cref="SessionHandler"/>'s delivery returns (false: counted as a
    /// receive-queue drop); exceptions are handled like a handler's.
    /// </summary>
    bool DeliverFromNewAddress(Session session, in PeerAddress source, ReadOnlySpan<byte> datagram);
}
