using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using UdpSessions.Forwarding;

namespace UdpSessions;

/// <summary>
/// A UDP forwarder (proxy) built on sessions: every client that sends to <see cref="LocalEndPoint"/> becomes a
/// session of <see cref="Server"/>, and every session gets its own socket toward an upstream. On Linux (epoll engine)
/// that socket sits in the epoll of the I/O thread that owns the client session, so a reply is read, matched to its
/// client and sent back on one thread with no lookup. Several upstreams are balanced by consistent hashing (sticky)
/// or round robin, with weights, health checks, session lifetime rules and an optional PROXY protocol v2 header.
/// </summary>
public sealed class UdpForwarder : IAsyncDisposable
{
    private readonly ForwardingHandler _handler;
    private readonly ILogger _logger;
    private UpstreamHealthMonitor? _health;

    /// <summary>Creates a forwarder; nothing is bound until <see cref="StartAsync(CancellationToken)"/>.</summary>
    /// <param name="options">Settings, copied and validated here.</param>
    /// <param name="loggerFactory">Where the forwarder and its server log (never per datagram), or null for no logging.</param>
    public UdpForwarder(UdpForwarderOptions options, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        UdpForwarderOptions copy = options.Clone();
        copy.Validate();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("UdpSessions.Forwarding");
        _handler = new ForwardingHandler(copy, _logger);
        Server = new SessionServer(copy.Server, _handler, loggerFactory);
        _handler.UseEngine(Server.Engine);
    }

    /// <summary>The client side: the session server the forwarder runs (its options, engine, statistics).</summary>
    public SessionServer Server { get; }

    /// <summary>The endpoint clients send to, with the actual port when port 0 was asked for.</summary>
    public IPEndPoint LocalEndPoint => Server.LocalEndPoint;

    /// <summary>The upstreams in force now.</summary>
    public IReadOnlyList<IPEndPoint> Upstreams => [.. _handler.Set.Members.Select(u => u.EndPoint)];

    /// <summary>Creates and starts a forwarder in one call.</summary>
    public static async ValueTask<UdpForwarder> StartAsync(UdpForwarderOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        var forwarder = new UdpForwarder(options, loggerFactory);
        await forwarder.StartAsync(cancellationToken).ConfigureAwait(false);
        return forwarder;
    }

    /// <summary>Binds the client-side endpoint and starts forwarding and health checks.</summary>
    public async ValueTask StartAsync(CancellationToken cancellationToken = default)
    {
        await Server.StartAsync(cancellationToken).ConfigureAwait(false);
        _health = new UpstreamHealthMonitor(_handler);
        ForwarderLog.Started(_logger, LocalEndPoint, string.Join(", ", _handler.Set.Members.Select(u => u.Options)), _handler.Options.Balancing);
    }

    /// <summary>
    /// Adds an upstream while running: it takes its share of new sessions (consistent hashing moves nothing else) or
    /// joins the rotation. False when the endpoint is already an upstream.
    /// </summary>
    public bool AddUpstream(UpstreamOptions upstream)
    {
        bool added = _handler.Add(upstream, out _);
        if (added)
        {
            _health?.StartProbes();
        }

        return added;
    }

    /// <summary>
    /// Removes an upstream while running: it gets no new sessions and its sessions move with their next datagram
    /// (consistent hashing moves only those). False when it is not an upstream; the last one cannot be removed.
    /// </summary>
    public bool RemoveUpstream(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return _handler.Remove(endPoint);
    }

    /// <summary>The forwarder's counters now, with the client side's and each upstream's.</summary>
    public ForwarderStatistics GetStatistics() => new(_handler, Server.GetStatistics());

    /// <summary>Stops health checks and the server: every session closes with <see cref="SessionCloseReason.ServerShutdown"/> and every socket is released.</summary>
    public async ValueTask StopAsync(CancellationToken cancellationToken = default)
    {
        if (_health is { } health)
        {
            _health = null;
            await health.DisposeAsync().ConfigureAwait(false);
        }

        await Server.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the forwarder.</summary>
    public ValueTask DisposeAsync() => StopAsync(CancellationToken.None);
}
