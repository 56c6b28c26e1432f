using UdpSessions.Internal;

namespace UdpSessions.Engines;

/// <summary>
/// The two places where a protocol layered on sessions (DTLS) steers datagrams between sessions: a peer that moved to
/// a new address (connection IDs), and a peer that starts over on the same address (a new handshake).
/// </summary>
internal abstract partial class IoLoop
{
    /// <summary>
    /// Called by <see cref="RouteByAddress"/> for a datagram of an address with no session, just before it would be
    /// accepted as a new peer: true when the engine's <see cref="IPeerMigrationRouter"/> claimed it for an existing
    /// session (it is then delivered on that session's loop).
    /// </summary>
    private bool TryRouteToMovedPeer(in PeerAddress source, ReadOnlySpan<byte> datagram)
    {
        if (Engine.MigrationRouter?.FindSession(datagram) is not { IsOpen: true } session)
        {
            return false;
        }

        IoLoop home = session.Home;
        if (home == this)
        {
            DeliverFromNewAddress(session, source, datagram);
        }
        else if (Interlocked.Add(ref home._redirectedBytes, datagram.Length + 1) > RedirectQueueLimitBytes)
        {
            // The same bound as PostDatagram: a loop that cannot keep up is not handed unbounded copies.
            Interlocked.Add(ref home._redirectedBytes, -(datagram.Length + 1));
            Counters.Dropped[(int)DropReason.RedirectQueueFull]++;
        }
        else
        {
            home.Post(session, new MovedPeerDatagram(source, datagram.ToArray()));
        }

        return true;
    }

    /// <summary>Delivers a datagram from another address than the session's peer to the migration router, counted like <see cref="Deliver"/>.</summary>
    private void DeliverFromNewAddress(Session session, in PeerAddress source, ReadOnlySpan<byte> datagram)
    {
        if (!session.IsOpen)
        {
            Counters.Dropped[(int)DropReason.SessionClosed]++;
            return;
        }

        bool accepted;
        try
        {
            accepted = Engine.MigrationRouter!.DeliverFromNewAddress(session, source, datagram);
        }
        catch (Exception exception)
        {
            Counters.DatagramsDelivered++;
            HandlerFailed(session, nameof(SessionHandler.OnDatagram), exception);
            return;
        }

        CountDelivery(accepted);
    }

    /// <summary>
    /// Called by a layer from inside the delivery of <paramref name="datagram"/> to <paramref name="session"/> (on this
    /// loop): the datagram belongs to a new session of the same peer (a DTLS peer that restarted, RFC 6347 4.2.8).
    /// The session is closed with <paramref name="reason"/> and the datagram routed again as if it had just been read,
    /// after the close, so it passes the accept gate and starts the new session. The delivery in progress is not
    /// counted (the engine counts the datagram once, when it is delivered again).
    /// </summary>
    public void RerouteAfterClose(Session session, SessionCloseReason reason, ReadOnlySpan<byte> datagram)
    {
        session.RequestClose(reason);
        Counters.DatagramsDelivered--; // Deliver adds this back when the layer returns
        PostDatagram(this, session, datagram); // a full queue counts it as RedirectQueueFull instead
    }

    /// <summary>A datagram of a moved peer, read on another loop than its session's (counted in the redirect bound).</summary>
    private sealed class MovedPeerDatagram(PeerAddress source, byte[] datagram) : ILoopWork
    {
        public void Execute(IoLoop loop, Session session)
        {
            Interlocked.Add(ref loop._redirectedBytes, -(datagram.Length + 1));
            loop.DeliverFromNewAddress(session, source, datagram);
        }
    }
}
