using System.Net;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using UdpSessions.Dtls;
using UdpSessions.Engines;
using UdpSessions.Engines.Linux;
using UdpSessions.Engines.Tcp;
using UdpSessions.Engines.Windows;
using UdpSessions.Internal;

namespace UdpSessions;

/// <summary>
/// A UDP server that turns its port into sessions: the first datagram of an unknown peer "accepts" a session, as a
/// TCP listener accepts a connection. Give it a <see cref="SessionHandler"/> for the zero-allocation callback path,
/// or none and use <see cref="AcceptAsync"/> / <see cref="Session.ReceiveAsync"/>.
/// </summary>
public sealed partial class SessionServer : IAsyncDisposable
{
    private readonly AsyncSessionHandler? _asyncHandler;
    private readonly DtlsSessionHandler? _dtls;
    private readonly UdpEngine _engine;
    private readonly Lock _lifecycle = new();
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Handover.HandoverServer? _handoverServer;
    private Task? _drainTask;
    private Task? _stopTask;
    private bool _started;

    /// <summary>Creates a server; nothing is bound until <see cref="StartAsync(CancellationToken)"/>.</summary>
    /// <param name="options">Settings, copied and validated here.</param>
    /// <param name="handler">Callbacks for every session, or null for the async API.</param>
    /// <param name="loggerFactory">Where the server logs (never per datagram), or null for no logging.</param>
    public SessionServer(SessionServerOptions options, SessionHandler? handler = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        SessionServerOptions copy = options.Clone();
        copy.Validate();
        Options = copy;
        if (handler is null)
        {
            _asyncHandler = new AsyncSessionHandler(copy.AcceptBacklog, copy.ReceiveQueueCapacity);
            handler = _asyncHandler;
        }

        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("UdpSessions");
        Engine = ResolveEngine(copy.Engine);
        if (Engine == EngineKind.Portable)
        {
            copy.IoThreads = 1;
        }

        if (copy.ProxyProtocol is not null)
        {
            handler = new ProxyProtocol.ProxyProtocolHandler(handler, copy.ProxyProtocol); // the accept gate checks first datagrams
        }

        if (copy.Dtls is not null)
        {
            // DTLS wraps the handler and validates peers with its cookie exchange before the application's filter.
            _dtls = new DtlsSessionHandler(copy.Dtls, handler, copy, logger);
            handler = _dtls;
            copy.AcceptFilter = _dtls.CreateAcceptFilter(copy.AcceptFilter);
        }

        // TCP outside Linux goes through the .NET Socket pump (IOCP-based on Windows) into the engine's I/O loops.
        _engine = copy.Transport == SessionTransport.Tcp
            ? Engine == EngineKind.Epoll ? new EpollTcpEngine(copy, handler, logger) : new PortableTcpEngine(copy, handler, logger)
            : Engine == EngineKind.Epoll ? new EpollEngine(copy, handler, logger)
            : Engine == EngineKind.Iocp && OperatingSystem.IsWindows() ? new IocpEngine(copy, handler, logger)
            : new PortableEngine(copy, handler, logger);
        if (_dtls is not null)
        {
            _engine.MigrationRouter = _dtls;
        }
    }

    /// <summary>The settings in force (a validated copy).</summary>
    public SessionServerOptions Options { get; }

    /// <summary>The protocol this server listens with (<see cref="SessionServerOptions.Transport"/>).</summary>
    public SessionTransport Transport => Options.Transport;

    /// <summary>The engine in use (<see cref="EngineKind.Auto"/> resolved).</summary>
    public EngineKind Engine { get; }

    /// <summary>The bound endpoint, with the actual port when port 0 was asked for.</summary>
    public IPEndPoint LocalEndPoint => _engine.LocalEndPoint;

    /// <summary>The engine itself, for tests of engine internals.</summary>
    internal UdpEngine Implementation => _engine;

    /// <summary>The DTLS layer, or null; for tests of its internals.</summary>
    internal DtlsSessionHandler? DtlsLayer => _dtls;

    /// <summary>Engine and mode in words, e.g. "epoll, LevelTriggered".</summary>
    public string EngineDescription => _engine.Description;

    /// <summary>Creates and starts a server in one call.</summary>
    public static async ValueTask<SessionServer> StartAsync(
        SessionServerOptions options, SessionHandler? handler = null, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        var server = new SessionServer(options, handler, loggerFactory);
        await server.StartAsync(cancellationToken).ConfigureAwait(false);
        return server;
    }

    /// <summary>
    /// Binds the endpoint and starts the I/O threads; or, with <see cref="SessionServerOptions.HandoverPath"/> and a
    /// server listening there, takes that server's listening sockets instead (it drains), and with
    /// <see cref="SessionServerOptions.ListenerFileDescriptors"/> serves the sockets given.
    /// </summary>
    public ValueTask StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_stopTask is not null, this);
            if (_started)
            {
                throw new InvalidOperationException("The server is already started.");
            }

            StartEngine();
            _started = true;
        }

        Log.Started(_engine.Logger, LocalEndPoint, Engine.ToString(), Options.IoThreads, _engine.Description);
        return ValueTask.CompletedTask;
    }

    /// <summary>True once the server drains (<see cref="DrainAsync"/>, or a successor took its listeners): it takes no new peer.</summary>
    public bool IsDraining => _engine.Draining;

    /// <summary>Completes when the server has stopped: <see cref="StopAsync"/>, or the end of a drain.</summary>
    public Task Completion => _completed.Task;

    /// <summary>
    /// Drains the server (epoll engine; other engines stop at once): it takes no new peer, gives every session served
    /// on the listeners a connected socket of its own where it can (so that the kernel keeps routing the peer here),
    /// reads what is still queued on its listeners, takes the listeners out of the port (the port's other sockets,
    /// e.g. another process sharing it with <see cref="SessionServerOptions.SharedPort"/>, get its traffic from then
    /// on), and serves its sessions until they have all ended or <paramref name="timeout"/> has passed, then stops.
    /// Sessions that could not get a socket are closed when the listeners go (<see cref="ServerStatistics.SessionsNotKept"/>).
    /// A server whose listeners a successor took (<see cref="SessionServerOptions.HandoverPath"/>) is draining already:
    /// this waits for that drain. The token abandons the wait, not the drain.
    /// </summary>
    public async ValueTask DrainAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        Task drain;
        lock (_lifecycle)
        {
            drain = _drainTask ??= _started && _stopTask is null ? DrainCoreAsync(timeout, leavePort: true) : StopAsync(CancellationToken.None).AsTask();
        }

        await drain.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void StartEngine()
    {
        if (_engine is not EpollEngine epoll || Options.HandoverPath is not { } path)
        {
            _engine.Start();
            return;
        }

        using Handover.HandoverClient? predecessor = Handover.HandoverClient.TryTakeOver(path);
        epoll.Inherited = predecessor?.Listeners;
        try
        {
            _engine.Start();
        }
        catch
        {
            epoll.Inherited = null;
            throw; // the predecessor, not acknowledged, serves its listeners again
        }

        predecessor?.Acknowledge(_engine.Logger, path, _engine.LocalEndPoint);
        _handoverServer = Handover.HandoverServer.Start(path, epoll, () =>
        {
            lock (_lifecycle)
            {
                return _drainTask ??= DrainCoreAsync(Options.DrainTimeout, leavePort: false);
            }
        });
    }

    private async Task DrainCoreAsync(TimeSpan timeout, bool leavePort)
    {
        long started = Environment.TickCount64;
        try
        {
            if (leavePort && _engine is EpollEngine epoll)
            {
                _handoverServer?.Dispose(); // no successor from now on: this server is leaving the port
                await epoll.LeavePortAsync().ConfigureAwait(false);
            }

            if (_engine is EpollEngine)
            {
                long deadline = started + (long)timeout.TotalMilliseconds;
                while (_engine.Registry.ActiveCount > 0 && Environment.TickCount64 < deadline && _stopTask is null)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(deadline - Environment.TickCount64, 1, 20))).ConfigureAwait(false);
                }
            }

            Log.Drained(_engine.Logger, LocalEndPoint, Environment.TickCount64 - started, _engine.Registry.ActiveCount);
        }
        finally
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The server's counters now.</summary>
    public ServerStatistics GetStatistics() => _engine.GetStatistics();

    /// <summary>The DTLS layer's counters now (handshakes, records by outcome), or null when the server runs plain UDP.</summary>
    public DtlsStatistics? GetDtlsStatistics() => _dtls?.GetStatistics();

    /// <summary>Waits for the next new session (async API only). Throws <see cref="InvalidOperationException"/> once the server has stopped.</summary>
    public async ValueTask<Session> AcceptAsync(CancellationToken cancellationToken = default)
    {
        ChannelReader<Session> accepted = AsyncHandler.Accepted;
        try
        {
            return await accepted.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException("The server has stopped.");
        }
    }

    /// <summary>Every new session, for <c>await foreach</c>, until the server stops or the token fires (async API only).</summary>
    public async IAsyncEnumerable<Session> AcceptAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ChannelReader<Session> accepted = AsyncHandler.Accepted;
        while (await accepted.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (accepted.TryRead(out Session? session))
            {
                yield return session;
            }
        }
    }

    /// <summary>
    /// Stops accepting, closes every session with <see cref="SessionCloseReason.ServerShutdown"/> (their
    /// <see cref="SessionHandler.OnSessionClosed"/> runs on the calling thread) and releases every socket.
    /// </summary>
    public async ValueTask StopAsync(CancellationToken cancellationToken = default)
    {
        Task stop;
        lock (_lifecycle)
        {
            if (_stopTask is null && _started)
            {
                _dtls?.SendCloseNotifyToAll(); // while the sockets are open
            }

            // The async API's accept queue completes when the engine has stopped, whether or not this caller waits.
            stop = _stopTask ??= StopEngineAsync();
        }

        await stop.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the server.</summary>
    public ValueTask DisposeAsync() => StopAsync(CancellationToken.None);

    private async Task StopEngineAsync()
    {
        try
        {
            _handoverServer?.Dispose();
            if (_started)
            {
                await _engine.StopAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _dtls?.Dispose();
            _asyncHandler?.Complete();
            _completed.TrySetResult();
        }
    }

    private AsyncSessionHandler AsyncHandler => _asyncHandler
        ?? throw new InvalidOperationException("This server has a SessionHandler: new sessions arrive in its OnSessionAccepted.");

    private static EngineKind ResolveEngine(EngineKind requested) => requested switch
    {
        EngineKind.Auto => OperatingSystem.IsLinux() ? EngineKind.Epoll : OperatingSystem.IsWindows() ? EngineKind.Iocp : EngineKind.Portable,
        EngineKind.Epoll when !OperatingSystem.IsLinux() => throw new PlatformNotSupportedException("The epoll engine needs Linux."),
        EngineKind.Iocp when !OperatingSystem.IsWindows() => throw new PlatformNotSupportedException("The IOCP engine needs Windows."),
        _ => requested,
    };
}
