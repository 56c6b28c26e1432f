using System.Collections.Concurrent;
using System.Net;
using UdpSessions.Internal;

namespace UdpSessions.ProxyProtocol;

/// <summary>
/// The PROXY protocol layer between the engine and the application's handler: a balancer's session is shown to the
/// application only once its first datagram's header named the client (<see cref="Session.RemoteEndPoint"/>), and
/// the application sees payloads without headers. Replies go back to the balancer, which relays them.
/// </summary>
internal sealed class ProxyProtocolHandler(SessionHandler inner, ProxyProtocolOptions options) : SessionHandler
{
    [ThreadStatic]
    private static bool t_headerRefused;

    private readonly ProxyProtocolGate _gate = new(options);
    private readonly ConcurrentDictionary<Session, Flow> _flows = new();

    public ProxyProtocolGate Gate => _gate;

    // Accepted by the application only with its first datagram, once the header told who the client is.
    public override void OnSessionAccepted(Session session)
    {
    }

    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) => Deliver(session, datagram);

    internal override bool Deliver(Session session, ReadOnlySpan<byte> datagram)
    {
        if (!_flows.TryGetValue(session, out Flow? flow))
        {
            flow = Open(session, datagram, out int headerLength);
            return flow is null ? Refuse() : inner.Deliver(session, datagram[headerLength..]);
        }

        if (!flow.Relayed || options.Mode == ProxyProtocolMode.FirstDatagram)
        {
            return inner.Deliver(session, datagram);
        }

        return ProxyProtocolV2.TryRead(datagram, out ProxyHeader header) == ProxyHeaderStatus.Proxy && header.SameEndPoints(flow.Header)
            ? inner.Deliver(session, datagram[header.Length..])
            : Refuse();
    }

    internal override DropReason TakeRefusalReason()
    {
        if (!t_headerRefused)
        {
            return base.TakeRefusalReason();
        }

        t_headerRefused = false;
        return DropReason.ProxyHeaderRejected;
    }

    public override void OnSessionClosed(Session session, SessionCloseReason reason)
    {
        if (_flows.TryRemove(session, out _))
        {
            inner.OnSessionClosed(session, reason);
        }
    }

    /// <summary>The first datagram (it passed <see cref="ProxyProtocolGate.Admits"/>): the flow, its client, and the application's accept.</summary>
    private Flow? Open(Session session, ReadOnlySpan<byte> datagram, out int headerLength)
    {
        headerLength = 0;
        var flow = new Flow();
        if (_gate.IsBalancer(session.Peer))
        {
            ProxyHeaderStatus status = ProxyProtocolV2.TryRead(datagram, out ProxyHeader header);
            if (status is not (ProxyHeaderStatus.Proxy or ProxyHeaderStatus.Local))
            {
                return null;
            }

            if (status == ProxyHeaderStatus.Proxy)
            {
                session.SetRemoteEndPoint(header.Source);
                flow.Header = header;
                flow.Relayed = true;
            }

            headerLength = header.Length; // LOCAL: the balancer itself (a health check), served as it is
        }

        _flows[session] = flow;
        inner.OnSessionAccepted(session);
        return flow;
    }

    private static bool Refuse()
    {
        t_headerRefused = true;
        return false;
    }

    private sealed class Flow
    {
        public ProxyHeader Header;
        public bool Relayed;
    }
}
