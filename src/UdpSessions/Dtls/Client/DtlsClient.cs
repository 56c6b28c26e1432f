using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using DtlsClientProtocol = Org.BouncyCastle.Tls.DtlsClientProtocol;
using UdpSessions.Dtls.Client;
using UdpSessions.Dtls.Crypto;
using UdpSessions.Dtls.Handshake;
using UdpSessions.Dtls.Records;

namespace UdpSessions.Dtls;

/// <summary>
/// A DTLS 1.2 client over its own connected UDP socket, for tools and tests (<c>udps load --dtls</c> uses it): a
/// blocking handshake (BouncyCastle, with the platform's elliptic curves), then the same allocation-free record layer
/// the server uses. <see cref="Seal"/> may be called from any thread; <see cref="Open"/> and <see cref="Receive"/>
/// from one thread at a time.
/// </summary>
public sealed class DtlsClient : IDisposable
{
    private static readonly PlatformTlsCrypto s_crypto = new();

    private readonly RecordProtection _protection;
    private readonly IPEndPoint _server;
    private readonly byte[] _sendBuffer;
    private readonly byte[] _receiveBuffer = new byte[SessionServerOptions.MaxUdpPayload];
    private bool _closed;

    private DtlsClient(Socket socket, IPEndPoint server, HandshakeKeys keys)
    {
        Socket = socket;
        _server = server;
        _protection = new RecordProtection(keys.Suite, keys.KeyBlock, isServer: false, keys.ReadConnectionId, keys.WriteConnectionId, keys.FirstSequence);
        CryptographicOperations.ZeroMemory(keys.KeyBlock);
        CipherSuite = keys.Suite.Suite;
        ConnectionId = keys.WriteConnectionId;
        _sendBuffer = new byte[_protection.SealedLength(DtlsRecord.MaxPlaintext)];
    }

    /// <summary>The socket, connected to the server.</summary>
    public Socket Socket { get; private set; }

    /// <summary>The negotiated suite.</summary>
    public DtlsCipherSuite CipherSuite { get; }

    /// <summary>The connection ID the server issued, which this client puts on its records; empty when none.</summary>
    public ReadOnlyMemory<byte> ConnectionId { get; }

    /// <summary>True once the server sent close_notify or a fatal alert.</summary>
    public bool PeerClosed { get; private set; }

    /// <summary>Opens a socket connected to <paramref name="server"/> and runs the handshake (blocking).</summary>
    /// <exception cref="IOException">The handshake failed or timed out (a <c>TlsFatalAlert</c> or <c>TlsTimeoutException</c> inside).</exception>
    public static DtlsClient Connect(IPEndPoint server, DtlsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(server);
        var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Connect(server);
            return Connect(socket, options);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Runs the handshake on a socket already connected to the server (blocking). The client owns the socket afterwards.</summary>
    public static DtlsClient Connect(Socket socket, DtlsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(options);
        var server = (IPEndPoint)(socket.RemoteEndPoint ?? throw new ArgumentException("The socket must be connected to the server.", nameof(socket)));
        var transport = new ClientTransport(socket, options.PathMtu - (server.AddressFamily == AddressFamily.InterNetworkV6 ? 48 : 28));
        var peer = new ClientPeer(s_crypto, options, transport);
        new DtlsClientProtocol().Connect(peer, transport);
        return new DtlsClient(socket, server, peer.Keys ?? throw new IOException("The DTLS handshake completed without keys."));
    }

    /// <summary>Bytes of the record that carries <paramref name="plaintextLength"/> bytes.</summary>
    public int SealedLength(int plaintextLength) => _protection.SealedLength(plaintextLength);

    /// <summary>Protects <paramref name="plaintext"/> as one application data record in <paramref name="record"/>; returns its length. Any thread.</summary>
    public int Seal(ReadOnlySpan<byte> plaintext, Span<byte> record)
    {
        if (plaintext.Length > DtlsRecord.MaxPlaintext)
        {
            throw new ArgumentException($"A DTLS record holds at most {DtlsRecord.MaxPlaintext} bytes.", nameof(plaintext));
        }

        return _protection.Seal(ContentType.ApplicationData, plaintext, record);
    }

    /// <summary>
    /// Reads the first record of a datagram from the server: application data is decrypted into
    /// <paramref name="plaintext"/> (<paramref name="length"/> bytes); an alert that ends the connection sets
    /// <see cref="PeerClosed"/>. Records that do not authenticate, replays, and late handshake records are dropped.
    /// </summary>
    public DtlsRecordStatus Open(ReadOnlySpan<byte> datagram, Span<byte> plaintext, out int length)
    {
        length = 0;
        if (DtlsRecord.TryRead(datagram, _protection.ReadConnectionIdLength, out DtlsRecord record) != RecordRead.Ok)
        {
            return DtlsRecordStatus.Dropped;
        }

        if (record.Epoch != RecordProtection.Epoch)
        {
            return record.Type == ContentType.Handshake ? DtlsRecordStatus.Handshake : DtlsRecordStatus.Dropped;
        }

        if (_protection.Open(record, plaintext, out int opened, out byte type, out _) != OpenResult.Ok)
        {
            return DtlsRecordStatus.Dropped;
        }

        switch (type)
        {
            case ContentType.ApplicationData:
                length = opened;
                return DtlsRecordStatus.Data;
            case ContentType.Alert when opened == 2 && (plaintext[1] == Alerts.CloseNotify || plaintext[0] == Alerts.Fatal):
                PeerClosed = true;
                return DtlsRecordStatus.Closed;
            case ContentType.Handshake:
                return DtlsRecordStatus.Handshake;
            default:
                return DtlsRecordStatus.Dropped;
        }
    }

    /// <summary>Sends one application data record; false when the socket refused it.</summary>
    public bool Send(ReadOnlySpan<byte> plaintext)
    {
        lock (_sendBuffer)
        {
            int length = Seal(plaintext, _sendBuffer);
            return Socket.Send(_sendBuffer.AsSpan(0, length), SocketFlags.None, out SocketError error) == length && error == SocketError.Success;
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the next application data record and decrypts it into
    /// <paramref name="plaintext"/>; returns its length, or -1 on timeout or once the server closed.
    /// </summary>
    public int Receive(Span<byte> plaintext, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (!PeerClosed)
        {
            long remaining = deadline - Environment.TickCount64;
            if (remaining < 0 || !Socket.Poll(TimeSpan.FromMilliseconds(Math.Max(0, remaining)), SelectMode.SelectRead))
            {
                return -1;
            }

            int received = Socket.Receive(_receiveBuffer, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success && Open(_receiveBuffer.AsSpan(0, received), plaintext, out int length) == DtlsRecordStatus.Data)
            {
                return length;
            }
        }

        return -1;
    }

    /// <summary>
    /// Continues the session from a new socket with another source port (what a NAT rebinding looks like to the
    /// server); the old socket is closed. Useful with a connection ID only.
    /// </summary>
    public void MoveToNewSocket()
    {
        var socket = new Socket(_server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Connect(_server);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        Socket old = Socket;
        Socket = socket;
        old.Dispose();
    }

    /// <summary>Sends close_notify (once).</summary>
    public void Close()
    {
        if (!_closed)
        {
            _closed = true;
            SendAlert(Alerts.Warning, Alerts.CloseNotify);
        }
    }

    /// <summary>Sends a protected alert (tests send fatal ones).</summary>
    internal void SendAlert(byte level, byte description)
    {
        Span<byte> record = stackalloc byte[_protection.SealedLength(2)];
        int length = SealAlert(level, description, record);
        if (length > 0)
        {
            Socket.Send(record[..length], SocketFlags.None, out _);
        }
    }

    /// <summary>A protected alert record, not sent; returns its length.</summary>
    internal int SealAlert(byte level, byte description, Span<byte> record) => _protection.Seal(ContentType.Alert, [level, description], record);

    /// <summary>Closes the socket (without close_notify; call <see cref="Close"/> first for a graceful end).</summary>
    public void Dispose()
    {
        Socket.Dispose();
        _protection.Dispose();
    }
}

/// <summary>What <see cref="DtlsClient.Open"/> made of a record.</summary>
public enum DtlsRecordStatus
{
    /// <summary>Application data, decrypted.</summary>
    Data,

    /// <summary>The server sent close_notify or a fatal alert.</summary>
    Closed,

    /// <summary>A late handshake record (the server repeating its last flight), ignored.</summary>
    Handshake,

    /// <summary>Malformed, unauthenticated, replayed or unexpected: dropped.</summary>
    Dropped,
}
