using System.Net;
using System.Net.Sockets;

namespace UdpSessions;

/// <summary>Settings of a <see cref="SessionServer"/>. Checked by <see cref="Validate"/> when the server starts.</summary>
public sealed class SessionServerOptions
{
    /// <summary>The well-known endpoint to listen on. Port 0 picks a free port. Default: 0.0.0.0:0.</summary>
    public IPEndPoint EndPoint { get; set; } = new(IPAddress.Any, 0);

    /// <summary>
    /// UDP (default) or TCP. A TCP server accepts connections on <see cref="EndPoint"/> and serves them on the same
    /// engine, I/O threads, <see cref="Session"/> type and <see cref="SessionHandler"/> callbacks; <see cref="Tcp"/>
    /// says how its stream is framed. To serve both protocols on one port, start two servers with the same handler.
    /// </summary>
    public SessionTransport Transport { get; set; } = SessionTransport.Udp;

    /// <summary>TCP settings (framing, maximum message, send queue); used when <see cref="Transport"/> is TCP.</summary>
    public TcpOptions Tcp { get; set; } = new();

    /// <summary>The I/O engine. Default: <see cref="EngineKind.Auto"/> (epoll on Linux).</summary>
    public EngineKind Engine { get; set; } = EngineKind.Auto;

    /// <summary>How the epoll engine registers sockets. Default: <see cref="EpollMode.LevelTriggered"/>.</summary>
    public EpollMode EpollMode { get; set; } = EpollMode.LevelTriggered;

    /// <summary>Number of I/O threads. Default: the processor count. The portable engine always uses one.</summary>
    public int IoThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// A session that received nothing for this long is closed with <see cref="SessionCloseReason.IdleTimeout"/>.
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns the timer off. Default: 60 s. Precision: about 1/8 of the timeout.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>At most this many sessions at once; datagrams of further new peers are dropped and counted. Default: 100,000.</summary>
    public int MaxSessions { get; set; } = 100_000;

    /// <summary>
    /// The largest datagram accepted, in bytes; larger ones are dropped and counted, never delivered cut.
    /// Each I/O thread has one receive buffer of this size. Also the send limit unless <see cref="MaxSendDatagramSize"/>
    /// says otherwise. Default: 4096. Maximum: 65,527.
    /// </summary>
    public int MaxDatagramSize { get; set; } = 4096;

    /// <summary>
    /// The largest datagram <see cref="Session.Send"/> (and a broadcast) may carry, in bytes. A larger one is refused:
    /// <c>Send</c> returns false and it is counted (<see cref="ServerStatistics.SendsDroppedOversized"/>, and the
    /// session's <see cref="SessionStatistics.SendsRefused"/>); <c>SendAsync</c> throws <see cref="ArgumentException"/>.
    /// Null: <see cref="MaxDatagramSize"/>, the same limit both ways. Set it when replies are larger than requests.
    /// UDP only (TCP messages are bounded by <see cref="TcpOptions.MaxFrameSize"/>). Default: null. Maximum: 65,527.
    /// </summary>
    public int? MaxSendDatagramSize { get; set; }

    /// <summary>
    /// SO_RCVBUF of each listening socket in bytes, 0 for the kernel default. Every session on the listeners shares it, so
    /// it must hold a burst of all of them: 16 MiB takes about 16,000 small datagrams (1,024 sessions with 16 in flight,
    /// or 10,000 peers starting at once). Honoured as given with CAP_NET_ADMIN (SO_RCVBUFFORCE); otherwise the kernel caps
    /// it at net.core.rmem_max. Default: 16 MiB.
    /// </summary>
    public int ListenerReceiveBufferSize { get; set; } = 16 << 20;

    /// <summary>SO_RCVBUF of each session socket in bytes, 0 for the kernel default (about 208 KiB). Default: 0.</summary>
    public int SessionReceiveBufferSize { get; set; }

    /// <summary>SO_SNDBUF of every socket in bytes, 0 for the kernel default. Default: 0.</summary>
    public int SendBufferSize { get; set; }

    /// <summary>
    /// epoll engine: send a run of equal-sized datagrams to one peer as one UDP_SEGMENT buffer (UDP generic segmentation
    /// offload, Linux 4.18) that the kernel cuts into those datagrams: <see cref="Session.SendBatch"/>, and consecutive
    /// replies of one callback round to one session of up to 1,232 bytes each. A socket on which the kernel refuses it
    /// sends separate datagrams from then on (counted: <see cref="ServerStatistics.SegmentationFallbacks"/>); the peer
    /// receives the same datagrams either way. Default: true.
    /// </summary>
    public bool SendSegmentation { get; set; } = true;

    /// <summary>
    /// epoll engine: let the kernel hand a run of one peer's datagrams over in one read (UDP_GRO, Linux 5.0), split back
    /// into the original datagrams before the handler sees them, one <see cref="SessionHandler.OnDatagram"/> each. Each
    /// I/O thread's receive buffers then take 64 KiB a datagram slot (4 MiB of address space a thread, touched only as far
    /// as reads fill it). Default: true.
    /// </summary>
    public bool ReceiveCoalescing { get; set; } = true;

    /// <summary>
    /// Where the epoll engine serves sessions: on the listener, on a socket of their own, or (default) on the listener
    /// until they prove busy enough for a socket of their own. See <see cref="SessionPlacement"/>.
    /// </summary>
    public SessionPlacement Placement { get; set; } = SessionPlacement.Adaptive;

    /// <summary>
    /// <see cref="SessionPlacement.Adaptive"/>: a session is promoted to a socket of its own once, within one second,
    /// this many of its datagrams were read from the listener in the same batch as another of its datagrams (it keeps
    /// several in flight, which its own socket delivers in one system call while the listener spends a lookup on each)
    /// and it carries at least 1 % of the listeners' traffic (every connected socket on the port makes each datagram
    /// of the listeners a few nanoseconds dearer). Sessions with one datagram in flight at a time (request/response,
    /// DNS-like, most game inputs) stay on the listener, where they are cheaper. Default: 64.
    /// </summary>
    public int PromotionQueuedDatagramsPerSecond { get; set; } = 64;

    /// <summary>
    /// Most sessions that get a connected socket of their own; the rest are served through the listening sockets and
    /// an address map, with the same API. Null: no budget with <see cref="SessionPlacement.OwnSocket"/> (sockets are
    /// used until the fd limit, after which the same fallback applies), and <see cref="DefaultAdaptiveSocketBudget"/>
    /// with <see cref="SessionPlacement.Adaptive"/>. 0: no session gets its own socket (as
    /// <see cref="SessionPlacement.AddressMap"/>).
    /// </summary>
    public int? SocketBudget { get; set; }

    /// <summary>
    /// The socket budget of <see cref="SessionPlacement.Adaptive"/> when <see cref="SocketBudget"/> is null. Bounded
    /// because every datagram the kernel does not match to a connected socket (new peers, sessions on the listener)
    /// is matched by scanning the connected sockets of its address and port: a few nanoseconds each.
    /// </summary>
    public const int DefaultAdaptiveSocketBudget = 128;

    /// <summary>Async API: sessions accepted but not yet taken by <c>AcceptAsync</c>; beyond it new sessions are closed with <see cref="SessionCloseReason.LimitReached"/>. Default: 1024.</summary>
    public int AcceptBacklog { get; set; } = 1024;

    /// <summary>Async API: datagrams queued per session before <c>ReceiveAsync</c> takes them; beyond it they are dropped and counted. Default: 1024.</summary>
    public int ReceiveQueueCapacity { get; set; } = 1024;

    /// <summary>
    /// At most this many new sessions per second for the whole server (token bucket, burst of one second's worth);
    /// datagrams of further unknown peers are dropped and counted (<see cref="DropReason.NewSessionRateLimit"/>).
    /// Null: no limit. Default: null.
    /// </summary>
    public int? MaxNewSessionsPerSecond { get; set; }

    /// <summary>
    /// At most this many new sessions per second from one source prefix (see <see cref="SourcePrefixLengthIPv4"/>);
    /// further ones are dropped and counted (<see cref="DropReason.SourceRateLimit"/>). Null: no limit. Default: null.
    /// </summary>
    public int? MaxNewSessionsPerSecondPerSource { get; set; }

    /// <summary>Bits of an IPv4 source address that make one "source" for the per-source limit. Default: 32 (one host).</summary>
    public int SourcePrefixLengthIPv4 { get; set; } = 32;

    /// <summary>Bits of an IPv6 source address that make one "source" for the per-source limit. Default: 64 (one subnet, what one host usually holds).</summary>
    public int SourcePrefixLengthIPv6 { get; set; } = 64;

    /// <summary>
    /// Slots of the per-source rate table (rounded up to a power of two), allocated once: a flood from more sources
    /// makes sources share slots instead of growing it. About 40 bytes a slot. Default: 16,384.
    /// </summary>
    public int SourceTableSize { get; set; } = 16_384;

    /// <summary>
    /// Judges the first datagram of every unknown peer before any session or socket exists for it (accept, reject, or
    /// challenge, e.g. with a <see cref="CookieAcceptFilter"/>). Null: every peer is accepted. Default: null.
    /// </summary>
    public AcceptFilter? AcceptFilter { get; set; }

    /// <summary>
    /// DTLS 1.2 on every session (certificate and/or PSK mode; see <see cref="Dtls.DtlsOptions"/>), or null for plain
    /// UDP. Handlers and the async API see decrypted application data only, and sessions only once their handshake
    /// completed. UDP only. Default: null.
    /// </summary>
    public Dtls.DtlsOptions? Dtls { get; set; }

    /// <summary>
    /// Join the endpoint's SO_REUSEPORT group when another process of the same user holds it, instead of failing (epoll
    /// engine). Several processes then serve one port; the kernel's own hash of each datagram's addresses spreads the
    /// peers over all their listeners, and moves some of them when a process joins or leaves (docs/operations.md). No
    /// steering program is attached (it would steer the other processes' traffic too), replies leave from the
    /// listeners, and on a wildcard address sessions stay on the listeners. Needs a port other than 0. Default: false.
    /// </summary>
    public bool SharedPort { get; set; }

    /// <summary>
    /// Already bound UDP sockets to serve instead of binding <see cref="EndPoint"/> (epoll engine): socket activation,
    /// e.g. <see cref="SocketActivation.DatagramSockets"/> from systemd. One I/O thread per socket; the server owns and
    /// closes them. All must be bound to one address and port. Sockets without SO_REUSEPORT (systemd's default) keep
    /// every session on the listener. Null: bind <see cref="EndPoint"/>. Default: null.
    /// </summary>
    public IReadOnlyList<int>? ListenerFileDescriptors { get; set; }

    /// <summary>
    /// A Unix socket path for graceful restarts (epoll engine, docs/operations.md). At start, if a server listens there,
    /// this one takes its listening sockets (passed with SCM_RIGHTS, with the new peers' datagrams it read while it got
    /// ready) instead of binding, and that server drains; then this one listens there for its own successor.
    /// Null: no handover. Default: null.
    /// </summary>
    public string? HandoverPath { get; set; }

    /// <summary>
    /// How long a server that handed its listeners to a successor keeps serving its sessions before it stops (it stops
    /// earlier once they have all ended). <see cref="SessionServer.DrainAsync"/> takes its own. Default: 30 s.
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// PROXY protocol v2 decoding (from balancers that add it), or null for none. See <see cref="ProxyProtocolOptions"/>.
    /// Default: null.
    /// </summary>
    public ProxyProtocolOptions? ProxyProtocol { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(EndPoint, nameof(EndPoint));
        if (EndPoint.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException("EndPoint must be an IPv4 or IPv6 address.", nameof(EndPoint));
        }

        Require(Enum.IsDefined(Engine), nameof(Engine), "is not a known engine");
        Require(Enum.IsDefined(EpollMode), nameof(EpollMode), "is not a known mode");
        Require(IoThreads is >= 1 and <= 1024, nameof(IoThreads), "must be between 1 and 1024");
        Require(IdleTimeout == Timeout.InfiniteTimeSpan || IdleTimeout >= TimeSpan.FromMilliseconds(10),
            nameof(IdleTimeout), "must be at least 10 ms or Timeout.InfiniteTimeSpan");
        Require(IdleTimeout == Timeout.InfiniteTimeSpan || IdleTimeout <= TimeSpan.FromDays(1), nameof(IdleTimeout), "must be at most one day");
        Require(MaxSessions is >= 1 and <= 1 << 24, nameof(MaxSessions), "must be between 1 and 16,777,216");
        Require(MaxDatagramSize is >= 1 and <= MaxUdpPayload, nameof(MaxDatagramSize), $"must be between 1 and {MaxUdpPayload}");
        Require(MaxSendDatagramSize is null or (>= 1 and <= MaxUdpPayload), nameof(MaxSendDatagramSize), $"must be between 1 and {MaxUdpPayload}");
        Require(ListenerReceiveBufferSize >= 0, nameof(ListenerReceiveBufferSize), "must not be negative");
        Require(SessionReceiveBufferSize >= 0, nameof(SessionReceiveBufferSize), "must not be negative");
        Require(SendBufferSize >= 0, nameof(SendBufferSize), "must not be negative");
        Require(SocketBudget is null or >= 0, nameof(SocketBudget), "must not be negative");
        Require(Enum.IsDefined(Placement), nameof(Placement), "is not a known placement");
        Require(PromotionQueuedDatagramsPerSecond is >= 1 and <= 100_000_000, nameof(PromotionQueuedDatagramsPerSecond), "must be between 1 and 100,000,000");
        Require(MaxNewSessionsPerSecond is null or (>= 1 and <= 10_000_000), nameof(MaxNewSessionsPerSecond), "must be between 1 and 10,000,000");
        Require(MaxNewSessionsPerSecondPerSource is null or (>= 1 and <= 10_000_000), nameof(MaxNewSessionsPerSecondPerSource), "must be between 1 and 10,000,000");
        Require(SourcePrefixLengthIPv4 is >= 0 and <= 32, nameof(SourcePrefixLengthIPv4), "must be between 0 and 32");
        Require(SourcePrefixLengthIPv6 is >= 0 and <= 128, nameof(SourcePrefixLengthIPv6), "must be between 0 and 128");
        Require(SourceTableSize is >= 16 and <= 1 << 24, nameof(SourceTableSize), "must be between 16 and 16,777,216");
        Require(AcceptBacklog >= 1, nameof(AcceptBacklog), "must be at least 1");
        Require(ReceiveQueueCapacity >= 1, nameof(ReceiveQueueCapacity), "must be at least 1");
        Require(Enum.IsDefined(Transport), nameof(Transport), "is not a known transport");
        ArgumentNullException.ThrowIfNull(Tcp, nameof(Tcp));
        if (Dtls is not null)
        {
            Require(Transport == SessionTransport.Udp, nameof(Dtls), "needs Transport = Udp");
            Dtls.Validate();
        }

        Require(!SharedPort || EndPoint.Port != 0 || ListenerFileDescriptors is { Count: > 0 }, nameof(SharedPort), "needs a port other than 0");
        Require(ListenerFileDescriptors is null || ListenerFileDescriptors.All(fd => fd >= 0), nameof(ListenerFileDescriptors), "must be file descriptors (0 or more)");
        Require(DrainTimeout >= TimeSpan.Zero && DrainTimeout <= TimeSpan.FromDays(1), nameof(DrainTimeout), "must be between 0 and one day");
        Require(HandoverPath is null || HandoverPath.Length is > 0 and < 108, nameof(HandoverPath), "must be a path of 1 to 107 bytes (a Unix socket address)");
        if (ProxyProtocol is not null)
        {
            Require(Transport == SessionTransport.Udp && Dtls is null, nameof(ProxyProtocol), "needs Transport = Udp without DTLS");
            ProxyProtocol.Validate();
        }

        foreach ((bool valid, string name, string problem) in Tcp.Checks())
        {
            Require(valid, $"{nameof(Tcp)}.{name}", problem);
        }
    }

    /// <summary>
    /// Tests only (epoll engine): every datagram goes to this I/O thread's listener, until the test moves them all to
    /// another (EpollEngine.Listeners.SteerAllTo), as a change of the listening group moves peers between listeners.
    /// </summary>
    internal int? SteerAllToListenerForTests { get; set; }

    /// <summary>
    /// Tests only (epoll engine): turn UDP checksums off (SO_NO_CHECK) on every socket the engine sends from, which makes
    /// the kernel refuse UDP_SEGMENT sends (EINVAL): the fallback to separate datagrams, on a real refusal.
    /// </summary>
    internal bool RefuseSegmentationForTests { get; set; }

    /// <summary>Tests only (epoll engine, adaptive placement): promote a session after this many datagrams, whatever their pace.</summary>
    internal int? PromoteAfterDatagramsForTests { get; set; }

    /// <summary>The largest UDP payload over IPv6 without jumbograms (65,535 - 8).</summary>
    internal const int MaxUdpPayload = 65_527;

    internal SessionServerOptions Clone()
    {
        var copy = (SessionServerOptions)MemberwiseClone();
        copy.Tcp = Tcp?.Clone()!;
        copy.Dtls = Dtls?.Clone();
        copy.ProxyProtocol = ProxyProtocol?.Clone();
        copy.ListenerFileDescriptors = ListenerFileDescriptors is null ? null : [.. ListenerFileDescriptors];
        return copy;
    }

    private static void Require(bool condition, string name, string problem)
    {
        if (!condition)
        {
            throw new ArgumentException($"{name} {problem}.", name);
        }
    }
}
