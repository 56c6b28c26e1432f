using System.Buffers.Binary;
using System.Security.Cryptography;

namespace UdpSessions;

/// <summary>
/// A stateless address-validation token, as QUIC's Retry token and DTLS's HelloVerifyRequest cookie: a MAC over the
/// peer's address and port and a time slot, under a secret key. The server keeps nothing per peer; a peer that
/// echoes a valid cookie has shown it receives datagrams at its source address (a spoofed source cannot).
/// </summary>
/// <remarks>
/// Layout (<see cref="Length"/> bytes): version (1), key id (1), time slot (4, big-endian), HMAC-SHA256 truncated to
/// 16 bytes over version, key id, slot, the peer's address (16, IPv4 as IPv4-mapped) and port (2). A cookie is valid
/// in the slot it was made in and the next one, so it lives between one and two <see cref="SlotLength"/>s. Keys
/// rotate every <see cref="KeyRotationInterval"/> (or on <see cref="RotateKey()"/>); cookies of the previous key are
/// still accepted, older ones are not. Thread-safe; <see cref="Write"/> and <see cref="Validate"/> allocate nothing.
/// </remarks>
public sealed class StatelessCookie
{
    /// <summary>Bytes of a cookie.</summary>
    public const int Length = 22;

    private const byte Version = 1;
    private const int MacLength = 16;
    private const int MacInputLength = 1 + 1 + 4 + 16 + 2;
    private const int KeyLength = 32;

    private readonly TimeProvider _time;
    private readonly Lock _rotation = new();
    private readonly long _slotTicks;
    private readonly long _rotationTicks;
    private volatile Keys _keys;
    private long _nextRotation;

    /// <summary>Creates a cookie maker with a fresh random key.</summary>
    /// <param name="slotLength">Length of a time slot (default 10 s); cookies live one to two slots.</param>
    /// <param name="keyRotationInterval">How often a new random key is drawn (default 1 hour); at least two slots.
    /// <see cref="Timeout.InfiniteTimeSpan"/> rotates only on <see cref="RotateKey()"/>.</param>
    /// <param name="timeProvider">The clock (default the system clock).</param>
    public StatelessCookie(TimeSpan? slotLength = null, TimeSpan? keyRotationInterval = null, TimeProvider? timeProvider = null)
    {
        SlotLength = slotLength ?? TimeSpan.FromSeconds(10);
        KeyRotationInterval = keyRotationInterval ?? TimeSpan.FromHours(1);
        if (SlotLength < TimeSpan.FromMilliseconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(slotLength), "The slot length must be at least 1 ms.");
        }

        if (KeyRotationInterval != Timeout.InfiniteTimeSpan && KeyRotationInterval < 2 * SlotLength)
        {
            throw new ArgumentOutOfRangeException(nameof(keyRotationInterval),
                "Keys must live at least two slots, or a cookie could outlive both keys that are accepted.");
        }

        _time = timeProvider ?? TimeProvider.System;
        _slotTicks = SlotLength.Ticks;
        _rotationTicks = KeyRotationInterval == Timeout.InfiniteTimeSpan ? long.MaxValue : KeyRotationInterval.Ticks;
        _keys = new Keys(RandomNumberGenerator.GetBytes(KeyLength), null, 0);
        _nextRotation = AddSaturating(_time.GetUtcNow().UtcTicks, _rotationTicks);
    }

    /// <summary>Length of a time slot.</summary>
    public TimeSpan SlotLength { get; }

    /// <summary>How often the key rotates by itself (<see cref="Timeout.InfiniteTimeSpan"/>: never).</summary>
    public TimeSpan KeyRotationInterval { get; }

    /// <summary>Replaces the key with a fresh random one; cookies of the replaced key stay valid until the next rotation.</summary>
    public void RotateKey() => RotateKey(RandomNumberGenerator.GetBytes(KeyLength));

    /// <summary>Replaces the key with <paramref name="key"/> (at least 16 bytes; servers sharing a key accept each other's cookies).</summary>
    public void RotateKey(ReadOnlySpan<byte> key)
    {
        if (key.Length < 16)
        {
            throw new ArgumentException("A cookie key needs at least 16 bytes.", nameof(key));
        }

        lock (_rotation)
        {
            Keys keys = _keys;
            _keys = new Keys(key.ToArray(), keys.Current, (byte)(keys.CurrentId + 1));
            _nextRotation = AddSaturating(_time.GetUtcNow().UtcTicks, _rotationTicks);
        }
    }

    /// <summary>Writes a cookie for <paramref name="peer"/> into <paramref name="destination"/> and returns <see cref="Length"/>.</summary>
    public int Write(PeerEndPoint peer, Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException($"A cookie needs {Length} bytes.", nameof(destination));
        }

        (Keys keys, uint slot) = Now();
        destination[0] = Version;
        destination[1] = keys.CurrentId;
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], slot);
        Mac(keys.Current, destination[..6], peer, destination.Slice(6, MacLength));
        return Length;
    }

    /// <summary>
    /// True when the first <see cref="Length"/> bytes of <paramref name="cookie"/> are a cookie this instance made for
    /// <paramref name="peer"/>, in this time slot or the previous one, with the current or the previous key. Any other
    /// input (short, garbage, altered, expired, another peer's) gives false, never an exception.
    /// </summary>
    public bool Validate(PeerEndPoint peer, ReadOnlySpan<byte> cookie)
    {
        if (cookie.Length < Length || cookie[0] != Version)
        {
            return false;
        }

        (Keys keys, uint now) = Now();
        uint slot = BinaryPrimitives.ReadUInt32BigEndian(cookie[2..]);
        if (slot != now && slot != now - 1)
        {
            return false;
        }

        byte[]? key = cookie[1] == keys.CurrentId ? keys.Current : cookie[1] == (byte)(keys.CurrentId - 1) ? keys.Previous : null;
        if (key is null)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[MacLength];
        Mac(key, cookie[..6], peer, expected);
        return CryptographicOperations.FixedTimeEquals(expected, cookie.Slice(6, MacLength));
    }

    private static void Mac(byte[] key, ReadOnlySpan<byte> header, PeerEndPoint peer, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[MacInputLength];
        header.CopyTo(input);
        peer.Address.WriteAddress16(input[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(input[22..], (ushort)peer.Port);
        Span<byte> full = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, input, full);
        full[..MacLength].CopyTo(destination);
    }

    /// <summary>The keys in force and the current slot; rotates first when the rotation interval has passed.</summary>
    private (Keys Keys, uint Slot) Now()
    {
        long ticks = _time.GetUtcNow().UtcTicks;
        if (ticks >= Volatile.Read(ref _nextRotation))
        {
            lock (_rotation)
            {
                if (ticks >= _nextRotation)
                {
                    Keys keys = _keys;
                    _keys = new Keys(RandomNumberGenerator.GetBytes(KeyLength), keys.Current, (byte)(keys.CurrentId + 1));
                    _nextRotation = AddSaturating(ticks, _rotationTicks);
                }
            }
        }

        return (_keys, (uint)(ticks / _slotTicks));
    }

    private static long AddSaturating(long a, long b) => b > long.MaxValue - a ? long.MaxValue : a + b;

    private sealed record Keys(byte[] Current, byte[]? Previous, byte CurrentId);
}
