using UdpSessions.Internal;

namespace UdpSessions.Engines;

/// <summary>Moving a session to a new peer address, for layers that recognise a peer by more than its address (DTLS connection IDs).</summary>
internal abstract partial class UdpEngine
{
    /// <summary>Consulted for datagrams of unknown addresses before they are accepted as new peers (see IoLoop.Layers.cs); null: never.</summary>
    public IPeerMigrationRouter? MigrationRouter { get; set; }

    /// <summary>
    /// Moves <paramref name="session"/> to <paramref name="newPeer"/> on its home loop: the address map is re-keyed, the
    /// session's <see cref="Session.RemoteEndPoint"/> updated, and a session with its own socket has the socket
    /// connected to the new address (a session without one sends through the listener to the new address). False,
    /// with nothing changed, when the session is closed, another session holds that address, or the socket cannot be
    /// re-connected.
    /// </summary>
    public bool MigrateSession(Session session, in PeerAddress newPeer)
    {
        if (!session.IsOpen || !session.Home.IsCurrentThread)
        {
            return false;
        }

        SessionKey oldKey = session.Key;
        SessionKey newKey = KeyOf(newPeer, session.Local);
        if (!Registry.TryMove(session, oldKey, newKey))
        {
            return false;
        }

        if (session.Socket is not null && !ReconnectSessionSocket(session, newPeer))
        {
            Registry.TryMove(session, newKey, oldKey);
            return false;
        }

        session.MoveTo(newPeer, newKey);
        if (session.Socket is null)
        {
            PrepareSendsThroughListener(session);
        }

        return true;
    }

    /// <summary>
    /// Connects a session's own socket to its peer's new address, keeping its local address; false (the socket left
    /// connected to <see cref="Session.Peer"/>, still the old address) when it cannot.
    /// </summary>
    protected virtual bool ReconnectSessionSocket(Session session, in PeerAddress newPeer) => false;
}
