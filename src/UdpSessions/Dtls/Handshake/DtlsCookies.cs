using System.Buffers.Binary;
using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using UdpSessions.Dtls.Crypto;
using UdpSessions.Dtls.Records;
using UdpSessions.Internal;

namespace UdpSessions.Dtls.Handshake;

/// <summary>
/// The stateless cookies of the DTLS HelloVerifyRequest exchange (RFC 6347 4.2.1): HMAC-SHA256 under a secret key
/// over the peer's address and port, a time slot, and the ClientHello without its cookie, exactly as BouncyCastle's
/// <c>DtlsVerifier</c> computes it (its "client id" is our address, port and slot). The listener checks and makes
/// cookies here without allocating; the handshake worker then asks a <c>DtlsVerifier</c> holding the same key for
/// the request object BouncyCastle's server needs. Keys rotate; cookies of the previous key stay valid, and a cookie
/// lives one to two slots. Thread-safe.
/// </summary>
internal sealed class DtlsCookies
{
    public const int CookieLength = 32;
    private const int ClientIdLength = 16 + 2 + 4;
    private static readonly long s_slotMilliseconds = 30_000;

    [ThreadStatic]
    private static byte[]? t_macInput;

    private readonly long _rotationMilliseconds;
    private readonly Lock _rotation = new();
    private volatile Keys _keys;

    public DtlsCookies(TimeSpan keyRotationInterval)
    {
        _rotationMilliseconds = (long)keyRotationInterval.TotalMilliseconds;
        _keys = new Keys(new CookieKey(RandomNumberGenerator.GetBytes(32)), null, Environment.TickCount64 + _rotationMilliseconds);
    }

    /// <summary>Checks the cookie of <paramref name="hello"/> for <paramref name="peer"/>.</summary>
    public CookieCheck Check(in PeerAddress peer, in ClientHelloView hello, out CookieMatch match)
    {
        match = default;
        if (hello.Cookie.IsEmpty)
        {
            return CookieCheck.Missing;
        }

        if (hello.Cookie.Length != CookieLength)
        {
            return CookieCheck.Invalid;
        }

        Keys keys = Current();
        uint slot = Slot();
        Span<byte> expected = stackalloc byte[CookieLength];
        foreach (CookieKey? key in (ReadOnlySpan<CookieKey?>)[keys.Current, keys.Previous])
        {
            // A cookie is made in one slot and accepted in that slot and the next.
            foreach (uint made in (ReadOnlySpan<uint>)[slot, slot - 1])
            {
                if (key is null)
                {
                    break;
                }

                Compute(key.Secret, peer, made, hello, expected);
                if (CryptographicOperations.FixedTimeEquals(expected, hello.Cookie))
                {
                    match = new CookieMatch(key, made);
                    return CookieCheck.Valid;
                }
            }
        }

        return CookieCheck.Invalid;
    }

    /// <summary>
    /// Writes the HelloVerifyRequest record answering <paramref name="hello"/> (60 bytes, smaller than any ClientHello:
    /// no amplification) and returns its length.
    /// </summary>
    public int WriteHelloVerifyRequest(in PeerAddress peer, in ClientHelloView hello, Span<byte> destination)
    {
        const int BodyLength = 2 + 1 + CookieLength;
        const int MessageLength = 12 + BodyLength;
        DtlsRecord.WriteHeader(destination, Records.ContentType.Handshake, DtlsRecord.Dtls10, hello.EpochAndSequence, MessageLength);
        Span<byte> message = destination.Slice(DtlsRecord.HeaderLength, MessageLength);
        message.Clear();
        message[0] = Records.HandshakeType.HelloVerifyRequest;
        message[3] = BodyLength; // length (24 bits); message_seq 0, fragment_offset 0
        message[11] = BodyLength; // fragment_length
        BinaryPrimitives.WriteUInt16BigEndian(message[12..], DtlsRecord.Dtls10); // server_version: DTLS 1.0 (RFC 6347 4.2.1)
        message[14] = CookieLength;
        Compute(Current().Current.Secret, peer, Slot(), hello, message[15..]);
        return DtlsRecord.HeaderLength + MessageLength;
    }

    /// <summary>
    /// On a handshake worker: the request object BouncyCastle's server starts from, for a ClientHello record whose
    /// cookie <see cref="Check"/> found valid. Null if BouncyCastle does not agree (it parses the whole ClientHello).
    /// </summary>
    public static DtlsRequest? CreateRequest(in PeerAddress peer, CookieMatch match, byte[] record)
    {
        byte[] clientId = new byte[ClientIdLength];
        WriteClientId(peer, match.Slot, clientId);
        return match.Key.Verifier.VerifyRequest(clientId, record, 0, record.Length, NoReply.Instance);
    }

    private static void Compute(byte[] secret, in PeerAddress peer, uint slot, in ClientHelloView hello, Span<byte> destination)
    {
        int length = ClientIdLength + hello.BeforeCookie.Length + hello.AfterCookie.Length;
        byte[] input = t_macInput is { } cached && cached.Length >= length ? cached : t_macInput = new byte[Math.Max(length, 2048)];
        Span<byte> span = input.AsSpan(0, length);
        WriteClientId(peer, slot, span);
        hello.BeforeCookie.CopyTo(span[ClientIdLength..]);
        hello.AfterCookie.CopyTo(span[(ClientIdLength + hello.BeforeCookie.Length)..]);
        HMACSHA256.HashData(secret, span, destination);
    }

    private static void WriteClientId(in PeerAddress peer, uint slot, Span<byte> destination)
    {
        peer.WriteAddress16(destination);
        BinaryPrimitives.WriteUInt16BigEndian(destination[16..], (ushort)peer.Port);
        BinaryPrimitives.WriteUInt32BigEndian(destination[18..], slot);
    }

    private static uint Slot() => (uint)(Environment.TickCount64 / s_slotMilliseconds);

    private Keys Current()
    {
        Keys keys = _keys;
        if (Environment.TickCount64 < keys.RotateAt)
        {
            return keys;
        }

        lock (_rotation)
        {
            if (Environment.TickCount64 >= _keys.RotateAt)
            {
                _keys = new Keys(new CookieKey(RandomNumberGenerator.GetBytes(32)), _keys.Current, Environment.TickCount64 + _rotationMilliseconds);
            }

            return _keys;
        }
    }

    private sealed record Keys(CookieKey Current, CookieKey? Previous, long RotateAt);

    /// <summary>NoReply: the worker only wants the request; a mismatch would have been answered by the listener already.</summary>
    private sealed class NoReply : DatagramSender
    {
        public static readonly NoReply Instance = new();

        public int GetSendLimit() => 1200;

        public void Send(byte[] buf, int off, int len)
        {
        }

        public void Send(ReadOnlySpan<byte> buffer)
        {
        }
    }
}

/// <summary>A cookie key and the BouncyCastle verifier that computes the same MACs (created when first needed).</summary>
internal sealed class CookieKey(byte[] secret)
{
    private DtlsVerifier? _verifier;

    public byte[] Secret { get; } = secret;

    public DtlsVerifier Verifier => LazyInitializer.EnsureInitialized(ref _verifier, () => new DtlsVerifier(new PlatformTlsCrypto(KeyedRandom.For(Secret))));
}

internal readonly record struct CookieMatch(CookieKey Key, uint Slot);

internal enum CookieCheck
{
    Missing,
    Invalid,
    Valid,
}
