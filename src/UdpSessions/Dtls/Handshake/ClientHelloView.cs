using System.Buffers.Binary;
using UdpSessions.Dtls.Records;

namespace UdpSessions.Dtls.Handshake;

/// <summary>
/// A DTLS ClientHello read in place from a datagram that holds exactly one unfragmented handshake record, checked
/// as far as the listener needs before anything exists for the peer: the structure up to the extensions, and where
/// the cookie lies. Nothing is copied or allocated (it runs once per datagram of a flood).
/// </summary>
internal readonly ref struct ClientHelloView
{
    private const int HandshakeHeaderLength = 12;
    private const int RandomOffset = 2;
    private const int SessionIdOffset = RandomOffset + 32;

    private ClientHelloView(ReadOnlySpan<byte> record, int cookieOffset, int cookieLength)
    {
        Record = record;
        CookieOffset = cookieOffset;
        CookieLength = cookieLength;
    }

    /// <summary>The whole record (header, handshake header, body).</summary>
    public ReadOnlySpan<byte> Record { get; }

    /// <summary>Epoch (0) and record sequence number; a HelloVerifyRequest repeats the sequence number.</summary>
    public ulong EpochAndSequence => DtlsRecord.ReadEpochAndSequence(Record);

    /// <summary>The ClientHello body (after record and handshake headers).</summary>
    public ReadOnlySpan<byte> Body => Record[(DtlsRecord.HeaderLength + HandshakeHeaderLength)..];

    public ReadOnlySpan<byte> Cookie => Body.Slice(CookieOffset + 1, CookieLength);

    /// <summary>The body without the cookie field (length byte included): what the cookie's MAC covers.</summary>
    public ReadOnlySpan<byte> BeforeCookie => Body[..CookieOffset];

    public ReadOnlySpan<byte> AfterCookie => Body[(CookieOffset + 1 + CookieLength)..];

    private int CookieOffset { get; }

    private int CookieLength { get; }

    /// <summary>False for anything but one complete, unfragmented, well-formed ClientHello record in epoch 0.</summary>
    public static bool TryRead(ReadOnlySpan<byte> datagram, out ClientHelloView hello)
    {
        hello = default;
        if (DtlsRecord.TryRead(datagram, 0, out DtlsRecord record) != RecordRead.Ok
            || record.Whole.Length != datagram.Length
            || record.Type != ContentType.Handshake
            || record.Epoch != 0)
        {
            return false;
        }

        ReadOnlySpan<byte> message = record.Fragment;
        if (message.Length < HandshakeHeaderLength || message[0] != HandshakeType.ClientHello)
        {
            return false;
        }

        int length = ReadUInt24(message[1..]);
        int fragmentOffset = ReadUInt24(message[6..]);
        int fragmentLength = ReadUInt24(message[9..]);
        if (fragmentOffset != 0 || fragmentLength != length || message.Length != HandshakeHeaderLength + length)
        {
            return false; // fragmented ClientHellos are not supported (neither are they by BouncyCastle's verifier)
        }

        ReadOnlySpan<byte> body = message[HandshakeHeaderLength..];
        if (body.Length < SessionIdOffset + 1 || body[0] != 0xFE)
        {
            return false;
        }

        int sessionIdLength = body[SessionIdOffset];
        int cookieOffset = SessionIdOffset + 1 + sessionIdLength;
        if (sessionIdLength > 32 || body.Length < cookieOffset + 1)
        {
            return false;
        }

        int cookieLength = body[cookieOffset];
        int position = cookieOffset + 1 + cookieLength;
        if (!SkipVector(body, ref position, 2, minimum: 2) || !SkipVector(body, ref position, 1, minimum: 1))
        {
            return false; // cipher suites, compression methods
        }

        if (position != body.Length && !(SkipVector(body, ref position, 2, minimum: 0) && position == body.Length))
        {
            return false; // extensions, which must end the message
        }

        hello = new ClientHelloView(record.Whole, cookieOffset, cookieLength);
        return true;
    }

    private static bool SkipVector(ReadOnlySpan<byte> body, ref int position, int lengthBytes, int minimum)
    {
        if (body.Length < position + lengthBytes)
        {
            return false;
        }

        int length = lengthBytes == 1 ? body[position] : BinaryPrimitives.ReadUInt16BigEndian(body[position..]);
        position += lengthBytes;
        if (length < minimum || body.Length < position + length)
        {
            return false;
        }

        position += length;
        return true;
    }

    private static int ReadUInt24(ReadOnlySpan<byte> data) => (data[0] << 16) | (data[1] << 8) | data[2];
}
