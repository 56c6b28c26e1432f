using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using UdpSessions.Dtls.Handshake;
using UdpSessions.Dtls.Internal;
using UdpSessions.Dtls.Records;
using UdpSessions.Engines;
using UdpSessions.Internal;

namespace UdpSessions.Dtls;

/// <summary>
/// DTLS between the engine and the application's handler (or the async API's): the engine creates a session for
/// every peer whose ClientHello passed the cookie exchange (<see cref="DtlsAcceptFilter"/>) and delivers the peer's
/// raw records here; the application's <see cref="SessionHandler.OnSessionAccepted"/> runs only once the handshake
/// completed, its <see cref="SessionHandler.OnDatagram"/> sees decrypted application data only, and its
/// <see cref="SessionHandler.OnSessionClosed"/> runs only for sessions it saw accepted. It also routes records that
/// carry a connection ID from a new address to their session (<see cref="IPeerMigrationRouter"/>).
/// </summary>
internal sealed class DtlsSessionHandler : SessionHandler, IPeerMigrationRouter, IDisposable
{
    /// <summary>Bytes of the connection IDs this server issues.</summary>
    public const int ConnectionIdLength = 8;

    private readonly ConcurrentDictionary<ulong, DtlsConnection> _byConnectionId = new();
    private readonly ConcurrentDictionary<DtlsConnection, byte> _established = new();
    private readonly DtlsCounters[] _loopCounters;
    private int _halfOpen;

    public DtlsSessionHandler(DtlsOptions options, SessionHandler inner, SessionServerOptions serverOptions, ILogger logger)
    {
        Options = options;
        Inner = inner;
        Logger = logger;
        Settings = new ServerSettings(options, serverOptions.MaxDatagramSize, serverOptions.EndPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6);
        Workers = new HandshakeWorkers(options.MaxConcurrentHandshakes);
        _loopCounters = [.. Enumerable.Range(0, serverOptions.IoThreads).Select(_ => new DtlsCounters())];
        Log.DtlsStarted(logger, string.Join(", ", Settings.Suites.Select(s => (DtlsCipherSuite)s)), options.PathMtu, options.MaxConcurrentHandshakes, options.ConnectionIds);
    }

    public DtlsOptions Options { get; }

    /// <summary>The application's handler, or the async API's.</summary>
    public SessionHandler Inner { get; }

    public ILogger Logger { get; }

    public ServerSettings Settings { get; }

    public HandshakeWorkers Workers { get; }

    /// <summary>Counters written by threads other than the I/O loops, with interlocked adds.</summary>
    public DtlsCounters SharedCounters { get; } = new();

    /// <summary>True while fewer than <see cref="DtlsOptions.MaxConcurrentHandshakes"/> handshakes are in progress.</summary>
    public bool HandshakeSlotAvailable => Volatile.Read(ref _halfOpen) < Options.MaxConcurrentHandshakes;

    /// <summary>The counters of <paramref name="session"/>'s I/O loop (written by that loop's thread only).</summary>
    public DtlsCounters LoopCounters(Session session) => _loopCounters[session.Home.Index];

    public AcceptFilter CreateAcceptFilter(AcceptFilter? applicationFilter) => new DtlsAcceptFilter(this, applicationFilter);

    public DtlsStatistics GetStatistics() => new([.. _loopCounters, SharedCounters]);

    public override void OnSessionAccepted(Session session)
    {
        var connection = new DtlsConnection(this, session);
        session.Layer = connection;
        if (Interlocked.Increment(ref _halfOpen) > Options.MaxConcurrentHandshakes)
        {
            // Several I/O threads passed the filter's check at once; the cap holds here.
            Interlocked.Decrement(ref _halfOpen);
            SharedCounters.DropShared(DtlsDropReason.HandshakeLimit);
            session.RequestClose(SessionCloseReason.LimitReached);
            return;
        }

        connection.Start();
    }

    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) => Deliver(session, datagram);

    internal override bool Deliver(Session session, ReadOnlySpan<byte> datagram)
    {
        ((DtlsConnection)session.Layer!).OnDatagram(datagram, null);
        return true; // delivered to the DTLS layer; what became of each record is in DtlsStatistics
    }

    // The application's goodbye goes out while the keys still exist (they are released in OnSessionClosed below).
    public override void OnSessionClosing(Session session, SessionCloseReason reason)
    {
        if (((DtlsConnection)session.Layer!).ApplicationAccepted)
        {
            Inner.OnSessionClosing(session, reason);
        }
    }

    public override void OnSessionClosed(Session session, SessionCloseReason reason)
    {
        var connection = (DtlsConnection)session.Layer!;
        connection.OnClosed(reason);
        if (connection.ApplicationAccepted)
        {
            Inner.OnSessionClosed(session, reason);
        }
    }

    public Session? FindSession(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < DtlsRecord.HeaderLength + ConnectionIdLength || datagram[0] != ContentType.Tls12Cid)
        {
            return null;
        }

        ulong id = BinaryPrimitives.ReadUInt64BigEndian(datagram[11..]);
        return _byConnectionId.TryGetValue(id, out DtlsConnection? connection) && connection.IsEstablished ? connection.Session : null;
    }

    public bool DeliverFromNewAddress(Session session, in PeerAddress source, ReadOnlySpan<byte> datagram)
    {
        ((DtlsConnection)session.Layer!).OnDatagram(datagram, source);
        return true;
    }

    /// <summary>A fresh random connection ID, registered for <paramref name="connection"/> (a handshake worker asks).</summary>
    public byte[] RegisterConnectionId(DtlsConnection connection)
    {
        byte[] id = new byte[ConnectionIdLength];
        do
        {
            RandomNumberGenerator.Fill(id);
        }
        while (!_byConnectionId.TryAdd(BinaryPrimitives.ReadUInt64BigEndian(id), connection));

        return id;
    }

    public void Established(DtlsConnection connection) => _established.TryAdd(connection, 0);

    public void Forget(DtlsConnection connection, byte[]? connectionId)
    {
        _established.TryRemove(connection, out _);
        if (connectionId is not null)
        {
            _byConnectionId.TryRemove(new KeyValuePair<ulong, DtlsConnection>(BinaryPrimitives.ReadUInt64BigEndian(connectionId), connection));
        }
    }

    public void HandshakeSettled() => Interlocked.Decrement(ref _halfOpen);

    /// <summary>The server is stopping: every established peer gets close_notify while the sockets are still open.</summary>
    public void SendCloseNotifyToAll()
    {
        foreach (DtlsConnection connection in _established.Keys)
        {
            connection.SendCloseNotify();
        }
    }

    public void Dispose() => Workers.Dispose();
}
