using System.Net;

namespace UdpSessions;

/// <summary>
/// PROXY protocol v2 decoding (<see cref="SessionServerOptions.ProxyProtocol"/>): a balancer in
/// <see cref="AllowedSources"/> puts a header naming the client in front of its datagrams, and the session's
/// <see cref="Session.RemoteEndPoint"/> is that client. Datagrams from other sources are served as they are; a header
/// from a source not allowed is dropped and counted (<see cref="DropReason.ProxyHeaderRejected"/>): anyone could
/// otherwise claim any address.
/// </summary>
public sealed class ProxyProtocolOptions
{
    /// <summary>
    /// Where the header is: on the first datagram of each flow (<see cref="ProxyProtocolMode.FirstDatagram"/>, the
    /// default: a balancer with one upstream flow per client, as nginx and <see cref="UdpForwarder"/> keep), or on every
    /// datagram (<see cref="ProxyProtocolMode.EveryDatagram"/>: each must name the same client as the first, the session
    /// being the balancer's flow; one that does not, or has none, is dropped and counted). The same modes a
    /// <see cref="UdpForwarder"/> sends with. <see cref="ProxyProtocolMode.None"/> is refused: leave
    /// <see cref="SessionServerOptions.ProxyProtocol"/> null instead.
    /// </summary>
    public ProxyProtocolMode Mode { get; set; } = ProxyProtocolMode.FirstDatagram;

    /// <summary>The balancers' addresses (networks): only datagrams from these may, and must, carry a header. At least one.</summary>
    public IList<IPNetwork> AllowedSources { get; init; } = [];

    internal void Validate()
    {
        if (Mode is not (ProxyProtocolMode.FirstDatagram or ProxyProtocolMode.EveryDatagram))
        {
            throw new ArgumentException("ProxyProtocol.Mode must be FirstDatagram or EveryDatagram (no decoding: leave ProxyProtocol null).", nameof(Mode));
        }

        if (AllowedSources is null || AllowedSources.Count == 0)
        {
            throw new ArgumentException("ProxyProtocol.AllowedSources must name at least one balancer address.", nameof(AllowedSources));
        }
    }

    internal ProxyProtocolOptions Clone() => new() { Mode = Mode, AllowedSources = [.. AllowedSources] };
}

