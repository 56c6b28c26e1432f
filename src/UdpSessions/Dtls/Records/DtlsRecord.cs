using System.Buffers.Binary;

namespace UdpSessions.Dtls.Records;

/// <summary>
/// One DTLS 1.0/1.2 record read in place from a datagram: type (1), version (2), epoch (2), sequence number (6), the
/// connection ID for type tls12_cid (RFC 9146), length (2), then the fragment. Nothing is copied.
/// </summary>
internal readonly ref struct DtlsRecord
{
    /// <summary>Bytes of a record header without a connection ID.</summary>
    public const int HeaderLength = 13;

    /// <summary>DTLS 1.2 on the wire (0xFEFD).</summary>
    public const ushort Dtls12 = 0xFEFD;

    /// <summary>DTLS 1.0 on the wire (0xFEFF), which HelloVerifyRequests and some first ClientHellos carry.</summary>
    public const ushort Dtls10 = 0xFEFF;

    /// <summary>The largest plaintext of a record (2^14, RFC 6347).</summary>
    public const int MaxPlaintext = 16_384;

    private DtlsRecord(ReadOnlySpan<byte> whole, int headerLength, int connectionIdLength)
    {
        Whole = whole;
        HeaderLengthWithId = headerLength;
        ConnectionIdLength = connectionIdLength;
    }

    /// <summary>Header and fragment.</summary>
    public ReadOnlySpan<byte> Whole { get; }

    public int HeaderLengthWithId { get; }

    public int ConnectionIdLength { get; }

    public byte Type => Whole[0];

    public ushort Version => BinaryPrimitives.ReadUInt16BigEndian(Whole[1..]);

    public int Epoch => BinaryPrimitives.ReadUInt16BigEndian(Whole[3..]);

    public long SequenceNumber => (long)(BinaryPrimitives.ReadUInt64BigEndian(Whole[3..]) & 0xFFFF_FFFF_FFFFUL);

    /// <summary>Epoch and sequence number as the 64-bit value TLS uses in nonces and additional data.</summary>
    public ulong EpochAndSequence => BinaryPrimitives.ReadUInt64BigEndian(Whole[3..]);

    public ReadOnlySpan<byte> ConnectionId => Whole.Slice(11, ConnectionIdLength);

    public ReadOnlySpan<byte> Fragment => Whole[HeaderLengthWithId..];

    /// <summary>
    /// Reads the record at the start of <paramref name="data"/>. <paramref name="connectionIdLength"/> is the length of
    /// the connection ID a tls12_cid record carries here (0 when none was issued: such a record is then malformed).
    /// </summary>
    public static RecordRead TryRead(ReadOnlySpan<byte> data, int connectionIdLength, out DtlsRecord record)
    {
        record = default;
        if (data.Length < HeaderLength)
        {
            return RecordRead.Truncated;
        }

        ushort version = BinaryPrimitives.ReadUInt16BigEndian(data[1..]);
        if (version is not (Dtls12 or Dtls10) || data[0] is < ContentType.ChangeCipherSpec or > ContentType.Tls12Cid or 24)
        {
            return RecordRead.Malformed;
        }

        int idLength = 0;
        if (data[0] == ContentType.Tls12Cid)
        {
            if (connectionIdLength == 0)
            {
                return RecordRead.Malformed;
            }

            idLength = connectionIdLength;
        }

        int headerLength = HeaderLength + idLength;
        if (data.Length < headerLength)
        {
            return RecordRead.Truncated;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(data[(headerLength - 2)..]);
        if (length > data.Length - headerLength)
        {
            return RecordRead.Truncated;
        }

        // A protected fragment holds at most 2^14 + 2048 bytes (RFC 5246 6.2.3).
        if (length > MaxPlaintext + 2048)
        {
            return RecordRead.Oversized;
        }

        record = new DtlsRecord(data[..(headerLength + length)], headerLength, idLength);
        return RecordRead.Ok;
    }

    /// <summary>Writes a record header (without connection ID) for <paramref name="length"/> bytes of fragment.</summary>
    public static void WriteHeader(Span<byte> destination, byte type, ushort version, ulong epochAndSequence, int length)
    {
        destination[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], version);
        BinaryPrimitives.WriteUInt64BigEndian(destination[3..], epochAndSequence);
        BinaryPrimitives.WriteUInt16BigEndian(destination[11..], (ushort)length);
    }

    /// <summary>Epoch and sequence number of a record header at the start of <paramref name="data"/> (at least 11 bytes).</summary>
    public static ulong ReadEpochAndSequence(ReadOnlySpan<byte> data) => BinaryPrimitives.ReadUInt64BigEndian(data[3..]);
}

internal enum RecordRead
{
    Ok,
    Truncated,
    Malformed,
    Oversized,
}
