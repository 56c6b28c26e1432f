using System.Buffers.Binary;

namespace UdpSessions.Dtls.Records;

/// <summary>
/// The record layer of one DTLS 1.2 connection after its handshake (epoch 1): AEAD protection of outgoing records and
/// authentication, decryption and the anti-replay window for incoming ones. Keys come from the TLS 1.2 key block.
/// Nothing here allocates per record.
/// </summary>
/// <remarks>
/// <see cref="Seal"/> may be called from any thread (sequence numbers are taken atomically and the sealing cipher is
/// used under a lock, because a platform cipher context cannot be shared); <see cref="Open"/> runs on one thread
/// (the session's I/O thread, or the client's), which owns <see cref="Window"/>.
/// </remarks>
internal sealed class RecordProtection : IDisposable
{
    public const ushort Epoch = 1;
    private const ulong SequencePlaceholder = ulong.MaxValue;
    private const long MaxSequence = (1L << 48) - 1;

    private readonly AeadCipher _sealer;
    private readonly AeadCipher _opener;
    private readonly byte[] _writeIv;
    private readonly byte[] _readIv;
    private readonly byte[] _writeConnectionId;
    private readonly byte[] _readConnectionId;
    private readonly Lock _sealLock = new();
    private long _nextSequence;

    /// <param name="suite">The negotiated suite.</param>
    /// <param name="keyBlock">The TLS 1.2 key block: client key, server key, client IV, server IV.</param>
    /// <param name="isServer">Which half of the key block this side writes with.</param>
    /// <param name="readConnectionId">The connection ID the peer puts on its records (this side issued it); empty for none.</param>
    /// <param name="writeConnectionId">The connection ID this side puts on its records (the peer issued it); empty for none.</param>
    /// <param name="firstSequence">The first epoch-1 sequence number not yet used by the handshake (its Finished).</param>
    public RecordProtection(CipherSuiteInfo suite, ReadOnlySpan<byte> keyBlock, bool isServer, byte[] readConnectionId, byte[] writeConnectionId, long firstSequence)
    {
        if (keyBlock.Length != suite.KeyBlockLength)
        {
            throw new ArgumentException($"A {suite.Suite} key block has {suite.KeyBlockLength} bytes, not {keyBlock.Length}.", nameof(keyBlock));
        }

        Suite = suite;
        int k = suite.KeyLength;
        int iv = CipherSuiteInfo.FixedIvLength;
        ReadOnlySpan<byte> clientKey = keyBlock[..k];
        ReadOnlySpan<byte> serverKey = keyBlock.Slice(k, k);
        ReadOnlySpan<byte> clientIv = keyBlock.Slice(2 * k, iv);
        ReadOnlySpan<byte> serverIv = keyBlock.Slice((2 * k) + iv, iv);
        _sealer = new AeadCipher(suite.Aead, isServer ? serverKey : clientKey, suite.TagLength, encrypt: true);
        _opener = new AeadCipher(suite.Aead, isServer ? clientKey : serverKey, suite.TagLength, encrypt: false);
        _writeIv = (isServer ? serverIv : clientIv).ToArray();
        _readIv = (isServer ? clientIv : serverIv).ToArray();
        _readConnectionId = readConnectionId;
        _writeConnectionId = writeConnectionId;
        _nextSequence = firstSequence;
    }

    public CipherSuiteInfo Suite { get; }

    /// <summary>The anti-replay window of epoch 1 (owned by the reading thread).</summary>
    public ReplayWindow Window { get; } = new();

    /// <summary>Length of the connection ID on incoming records (0: none).</summary>
    public int ReadConnectionIdLength => _readConnectionId.Length;

    /// <summary>Bytes of a sealed record for <paramref name="plaintextLength"/> bytes of plaintext.</summary>
    public int SealedLength(int plaintextLength) =>
        DtlsRecord.HeaderLength + _writeConnectionId.Length + Suite.Expansion + plaintextLength + (_writeConnectionId.Length > 0 ? 1 : 0);

    /// <summary>
    /// Writes one protected record of <paramref name="type"/> into <paramref name="destination"/> (at least
    /// <see cref="SealedLength"/> bytes) and returns its length; -1 when the sequence numbers of the epoch are used up.
    /// </summary>
    public int Seal(byte type, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        long sequence = Interlocked.Increment(ref _nextSequence) - 1;
        if (sequence > MaxSequence)
        {
            return -1; // 2^48 records: the peer must not see a sequence number twice, so this connection is done
        }

        ulong epochAndSequence = ((ulong)Epoch << 48) | (ulong)sequence;
        int cidLength = _writeConnectionId.Length;
        bool inner = cidLength > 0;
        int innerLength = plaintext.Length + (inner ? 1 : 0);
        int fragmentLength = CipherSuiteInfo.ExplicitNonceLength + innerLength + Suite.TagLength;
        int headerLength = DtlsRecord.HeaderLength + cidLength;

        destination[0] = inner ? ContentType.Tls12Cid : type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], DtlsRecord.Dtls12);
        BinaryPrimitives.WriteUInt64BigEndian(destination[3..], epochAndSequence);
        _writeConnectionId.CopyTo(destination[11..]);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(headerLength - 2)..], (ushort)fragmentLength);

        Span<byte> fragment = destination.Slice(headerLength, fragmentLength);
        BinaryPrimitives.WriteUInt64BigEndian(fragment, epochAndSequence); // the explicit nonce
        Span<byte> body = fragment.Slice(CipherSuiteInfo.ExplicitNonceLength, innerLength);
        Span<byte> tag = fragment[(CipherSuiteInfo.ExplicitNonceLength + innerLength)..];

        Span<byte> nonce = stackalloc byte[12];
        _writeIv.CopyTo(nonce);
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], epochAndSequence);
        Span<byte> associated = stackalloc byte[23 + 255];
        int associatedLength = WriteAssociatedData(associated, epochAndSequence, type, DtlsRecord.Dtls12, _writeConnectionId, innerLength);

        ReadOnlySpan<byte> input = plaintext;
        if (inner)
        {
            // DTLSInnerPlaintext: content, then the real type (no padding); encrypted in place.
            plaintext.CopyTo(body);
            body[^1] = type;
            input = body;
        }

        lock (_sealLock)
        {
            _sealer.Encrypt(nonce, input, body, tag, associated[..associatedLength]);
        }

        return headerLength + fragmentLength;
    }

    /// <summary>
    /// Authenticates and decrypts an epoch-1 record into <paramref name="plaintext"/> (at least the record's fragment
    /// length). Checks the replay window first and marks it only once the record authenticated. On
    /// <see cref="OpenResult.Ok"/>, <paramref name="length"/> and <paramref name="type"/> are the plaintext's, and
    /// <paramref name="newest"/> tells whether no later record had been seen.
    /// </summary>
    public OpenResult Open(in DtlsRecord record, Span<byte> plaintext, out int length, out byte type, out bool newest)
    {
        length = 0;
        type = 0;
        newest = false;
        bool inner = _readConnectionId.Length > 0;
        if (inner != (record.Type == ContentType.Tls12Cid))
        {
            return OpenResult.Unexpected;
        }

        ReadOnlySpan<byte> fragment = record.Fragment;
        int bodyLength = fragment.Length - Suite.Expansion;
        if (bodyLength < (inner ? 1 : 0))
        {
            return OpenResult.Truncated;
        }

        if (bodyLength > DtlsRecord.MaxPlaintext + (inner ? 256 : 0) || bodyLength > plaintext.Length)
        {
            return OpenResult.Oversized;
        }

        long sequence = record.SequenceNumber;
        if (Window.IsReplay(sequence))
        {
            return OpenResult.Replayed;
        }

        Span<byte> nonce = stackalloc byte[12];
        _readIv.CopyTo(nonce);
        fragment[..CipherSuiteInfo.ExplicitNonceLength].CopyTo(nonce[4..]);
        Span<byte> associated = stackalloc byte[23 + 255];
        int associatedLength = WriteAssociatedData(associated, record.EpochAndSequence, record.Type, record.Version, record.ConnectionId, bodyLength);
        Span<byte> output = plaintext[..bodyLength];
        if (!_opener.TryDecrypt(nonce, fragment.Slice(CipherSuiteInfo.ExplicitNonceLength, bodyLength), fragment[^Suite.TagLength..],
                output, associated[..associatedLength]))
        {
            return OpenResult.BadMac;
        }

        newest = Window.Accept(sequence);
        if (!inner)
        {
            type = record.Type;
            length = bodyLength;
            return OpenResult.Ok;
        }

        // DTLSInnerPlaintext: the real type is the last non-zero byte; zeros after it are padding.
        int last = output.LastIndexOfAnyExcept((byte)0);
        if (last < 0)
        {
            return OpenResult.Malformed;
        }

        type = output[last];
        length = last;
        return OpenResult.Ok;
    }

    public void Dispose()
    {
        lock (_sealLock)
        {
            _sealer.Dispose();
        }

        _opener.Dispose();
    }

    /// <summary>
    /// The AEAD additional data, which authenticates the record's header (its version field included): seq_num + type +
    /// version + length (RFC 5246), or with a connection ID the RFC 9146
    /// form: seq_num_placeholder + tls12_cid + cid_length + tls12_cid + version + epoch and sequence + cid + length.
    /// </summary>
    private static int WriteAssociatedData(Span<byte> destination, ulong epochAndSequence, byte type, ushort version, ReadOnlySpan<byte> connectionId, int length)
    {
        if (connectionId.IsEmpty)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination, epochAndSequence);
            destination[8] = type;
            BinaryPrimitives.WriteUInt16BigEndian(destination[9..], version);
            BinaryPrimitives.WriteUInt16BigEndian(destination[11..], (ushort)length);
            return 13;
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, SequencePlaceholder);
        destination[8] = ContentType.Tls12Cid;
        destination[9] = (byte)connectionId.Length;
        destination[10] = ContentType.Tls12Cid;
        BinaryPrimitives.WriteUInt16BigEndian(destination[11..], version);
        BinaryPrimitives.WriteUInt64BigEndian(destination[13..], epochAndSequence);
        connectionId.CopyTo(destination[21..]);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(21 + connectionId.Length)..], (ushort)length);
        return 23 + connectionId.Length;
    }
}

internal enum OpenResult
{
    Ok,
    Replayed,
    BadMac,
    Truncated,
    Oversized,
    Malformed,
    Unexpected,
}
