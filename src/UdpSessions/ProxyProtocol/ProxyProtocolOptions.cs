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
    /// <summary>Where the header is: on the first datagram of each flow (default), or on every datagram.</summary>
    public ProxyProtocolMode Mode { get; set; } = ProxyProtocolMode.FirstDatagram;

    /// <summary>The balancers' addresses (networks): only datagrams from these may, and must, carry a header. At least one.</summary>
    public IList<IPNetwork> AllowedSources { get; init; } = [];

    internal void Validate()
    {
        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentException("ProxyProtocol.Mode is not a known mode.", nameof(Mode));
        }

        if (AllowedSources is null || AllowedSources.Count == 0)
        {
            throw new ArgumentException("ProxyProtocol.AllowedSources must name at least one balancer address.", nameof(AllowedSources));
        }
    }

    internal ProxyProtocolOptions Clone() => new() { Mode = Mode, AllowedSources = [.. AllowedSources] };
}

/// <summary>Which datagrams of a balancer's flow carry the PROXY header.</summary>
public enum ProxyProtocolMode
{
    /// <summary>The first datagram of each flow (a balancer that keeps one upstream flow per client, as nginx and udps forward do).</summary>
    FirstDatagram,

    /// <summary>
    /// Every datagram. Each must name the same client as the first one (the session is the balancer's flow); one that
    /// does not, or has no header, is dropped and counted.
    /// </summary>
    EveryDatagram,
}
