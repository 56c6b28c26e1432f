using Org.BouncyCastle.Crypto.Prng;
using Org.BouncyCastle.Security;

namespace UdpSessions.Dtls.Crypto;

/// <summary>
/// A "random" source that yields one fixed key, repeated. BouncyCastle's <c>DtlsVerifier</c> draws its cookie MAC key
/// from its crypto's random source; handing it this one makes its key ours, so the listener can check cookies with
/// the same key without BouncyCastle (and without allocating), and BouncyCastle accepts the cookies the listener made.
/// Never used for anything but that key.
/// </summary>
internal sealed class KeyedRandom(byte[] key) : IRandomGenerator
{
    public static SecureRandom For(byte[] key) => new(new KeyedRandom(key));

    public void AddSeedMaterial(byte[] seed)
    {
    }

    public void AddSeedMaterial(ReadOnlySpan<byte> seed)
    {
    }

    public void AddSeedMaterial(long seed)
    {
    }

    public void NextBytes(byte[] bytes) => NextBytes(bytes.AsSpan());

    public void NextBytes(byte[] bytes, int start, int len) => NextBytes(bytes.AsSpan(start, len));

    public void NextBytes(Span<byte> bytes)
    {
        for (int i = 0; i < bytes.Length; i += key.Length)
        {
            key.AsSpan(0, Math.Min(key.Length, bytes.Length - i)).CopyTo(bytes[i..]);
        }
    }
}
