using System.Net;
using System.Net.Sockets;

namespace UdpSessions;

/// <summary>Settings of a <see cref="UdpForwarder"/>. Checked by <see cref="Validate"/> when it starts.</summary>
public sealed class UdpForwarderOptions
{
    /// <summary>Largest number of upstreams.</summary>
    public const int MaxUpstreams = 1024;

    /// <summary>
    /// The client side: the listening endpoint and everything a <see cref="SessionServer"/> takes (I/O threads, client
    /// idle timeout, session limit, new-session rate limits per client prefix, maximum datagram size, placement).
    /// </summary>
    public SessionServerOptions Server { get; set; } = new();

    /// <summary>The servers to forward to (at least one, at most <see cref="MaxUpstreams"/>; more can be added while running).</summary>
    public IList<UpstreamOptions> Upstreams { get; } = [];

    /// <summary>Sticky consistent hashing per client session (default) or per-datagram round robin.</summary>
    public UpstreamBalancing Balancing { get; set; } = UpstreamBalancing.ConsistentHash;

    /// <summary>A PROXY protocol v2 header toward the upstream carrying the client's address. Default: none.</summary>
    public ProxyProtocolMode ProxyProtocol { get; set; } = ProxyProtocolMode.None;

    /// <summary>
    /// Datagrams the upstream sends back per client datagram, as nginx's <c>proxy_responses</c>: once every request of
    /// a session has had this many replies the session closes (DNS: 1, one request one reply), and further replies
    /// are dropped and counted (<see cref="ForwardDropReason.UnexpectedResponse"/>), which also stops an upstream from
    /// flooding a client. Null: replies are not counted and sessions end by idle timeout. Default: null.
    /// </summary>
    public int? ResponsesPerRequest { get; set; }

    /// <summary>
    /// Client datagrams per upstream session, as nginx's <c>proxy_requests</c>: after this many, the client's next
    /// datagram starts a new upstream session (new socket and source port, new upstream choice, a new PROXY header);
    /// replies still queued for the old one are delivered first. Null: no limit. Default: null.
    /// </summary>
    public int? RequestsPerSession { get; set; }

    /// <summary>
    /// The upstream side's idle timeout: a session whose upstream has sent nothing for this long closes
    /// (<see cref="SessionCloseReason.IdleTimeout"/>). The client side's is <see cref="SessionServerOptions.IdleTimeout"/>
    /// of <see cref="Server"/>. <see cref="Timeout.InfiniteTimeSpan"/>: off. Default: off.
    /// </summary>
    public TimeSpan UpstreamIdleTimeout { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>Health checks of the upstreams.</summary>
    public UpstreamHealthOptions Health { get; set; } = new();

    /// <summary>SO_RCVBUF of each upstream socket in bytes, 0 for the kernel default. Default: 0.</summary>
    public int UpstreamReceiveBufferSize { get; set; }

    /// <summary>
    /// Most upstream sockets open at once (one per client session). Null: the process's soft fd limit at start less
    /// 512, which are left to the runtime, the listeners and the client side's own sockets (a .NET process without a
    /// free fd cannot even start a thread). Beyond it new sessions wait as when fds run out (see
    /// <see cref="UpstreamSocketWait"/>). Default: null.
    /// </summary>
    public int? MaxUpstreamSockets { get; set; }

    /// <summary>
    /// When the process has no fd left for a new session's upstream socket (or <see cref="MaxUpstreamSockets"/> are
    /// open), the session's datagrams are held (copied,
    /// at most 64 per session and 4 MiB per I/O thread) and the socket is tried again every 10 ms; datagrams held
    /// longer than this are dropped and counted (<see cref="ForwardDropReason.NoUpstreamSocket"/>). Default: 1 s.
    /// </summary>
    public TimeSpan UpstreamSocketWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Server, nameof(Server));
        Server.Validate();
        Require(Server.Transport == SessionTransport.Udp, nameof(Server), "must be a UDP server (Transport = Udp)");
        Require(Upstreams.Count is > 0 and <= MaxUpstreams, nameof(Upstreams), $"must hold 1 to {MaxUpstreams} upstreams");
        foreach (UpstreamOptions upstream in Upstreams)
        {
            ValidateUpstream(upstream);
        }

        Require(Upstreams.Select(u => u.EndPoint).Distinct().Count() == Upstreams.Count, nameof(Upstreams), "must not name an endpoint twice");
        Require(Enum.IsDefined(Balancing), nameof(Balancing), "is not a known balancing");
        Require(Balancing != UpstreamBalancing.RoundRobin || Upstreams.Select(u => u.EndPoint.AddressFamily).Distinct().Count() == 1,
            nameof(Upstreams), "must all be IPv4 or all IPv6 with round robin (one socket per session sends to all of them)");
        Require(Enum.IsDefined(ProxyProtocol), nameof(ProxyProtocol), "is not a known mode");
        Require(ResponsesPerRequest is null or > 0, nameof(ResponsesPerRequest), "must be positive");
        Require(RequestsPerSession is null or > 0, nameof(RequestsPerSession), "must be positive");
        RequireTimeout(UpstreamIdleTimeout, nameof(UpstreamIdleTimeout));
        Require(MaxUpstreamSockets is null or > 0, nameof(MaxUpstreamSockets), "must be positive");
        Require(UpstreamReceiveBufferSize >= 0, nameof(UpstreamReceiveBufferSize), "must not be negative");
        Require(UpstreamSocketWait >= TimeSpan.Zero && UpstreamSocketWait <= TimeSpan.FromMinutes(1), nameof(UpstreamSocketWait), "must be between 0 and 1 minute");
        ArgumentNullException.ThrowIfNull(Health, nameof(Health));
        RequireTimeout(Health.UnansweredWindow, "Health.UnansweredWindow");
        Require(Health.RetryAfter > TimeSpan.Zero, "Health.RetryAfter", "must be positive");
        if (Health.Probe is { } probe)
        {
            Require(probe.Payload is { Length: > 0 and <= SessionServerOptions.MaxUdpPayload }, "Health.Probe.Payload", "must be a datagram of 1 to 65,527 bytes");
            Require(probe.Interval >= TimeSpan.FromMilliseconds(10), "Health.Probe.Interval", "must be at least 10 ms");
            Require(probe.Timeout >= TimeSpan.FromMilliseconds(1) && probe.Timeout <= probe.Interval, "Health.Probe.Timeout", "must be between 1 ms and the interval");
        }
    }

    /// <summary>Checks one upstream (also those added while running).</summary>
    internal static void ValidateUpstream(UpstreamOptions upstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        Require(upstream.EndPoint.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6, nameof(Upstreams), "must be IPv4 or IPv6 endpoints");
        Require(upstream.EndPoint.Port != 0 && !upstream.EndPoint.Address.Equals(IPAddress.Any) && !upstream.EndPoint.Address.Equals(IPAddress.IPv6Any),
            nameof(Upstreams), $"must name a host and a port ({upstream.EndPoint} does not)");
        Require(upstream.Weight is >= 1 and <= 1000, nameof(Upstreams), $"must have weights from 1 to 1000 ({upstream.EndPoint} has {upstream.Weight})");
    }

    internal UdpForwarderOptions Clone()
    {
        var copy = (UdpForwarderOptions)MemberwiseClone();
        copy.Server = Server.Clone();
        copy.Health = new UpstreamHealthOptions
        {
            UnansweredWindow = Health.UnansweredWindow,
            RetryAfter = Health.RetryAfter,
            Probe = Health.Probe is { } p
                ? new UpstreamProbeOptions { Payload = [.. p.Payload], ExpectedReply = p.ExpectedReply?.ToArray(), Interval = p.Interval, Timeout = p.Timeout }
                : null,
        };
        return copy;
    }

    private static void RequireTimeout(TimeSpan value, string name) =>
        Require(value == Timeout.InfiniteTimeSpan || (value >= TimeSpan.FromMilliseconds(10) && value <= TimeSpan.FromDays(1)), name,
            "must be between 10 ms and 1 day, or Timeout.InfiniteTimeSpan");

    private static void Require(bool condition, string name, string problem)
    {
        if (!condition)
        {
            throw new ArgumentException($"{name} {problem}.", name);
        }
    }
}
