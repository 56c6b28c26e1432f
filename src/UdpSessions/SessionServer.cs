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

    /// <summary>Binds the endpoint and starts the I/O threads.</summary>
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

            _engine.Start();
            _started = true;
        }

        Log.Started(_engine.Logger, LocalEndPoint, Engine.ToString(), Options.IoThreads, _engine.Description);
        return ValueTask.CompletedTask;
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
            if (_started)
            {
                await _engine.StopAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _dtls?.Dispose();
            _asyncHandler?.Complete();
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
