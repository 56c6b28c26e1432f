using System.Text;
using Org.BouncyCastle.Tls;

namespace UdpSessions.Dtls.Handshake;

/// <summary>The application's PSK callback in BouncyCastle's shape: identities are UTF-8, an exception counts as unknown.</summary>
internal sealed class PskKeys(Func<string, byte[]?> provider, string? hint) : TlsPskIdentityManager
{
    private readonly byte[]? _hint = hint is null ? null : Encoding.UTF8.GetBytes(hint);

    public byte[]? GetHint() => _hint;

    public byte[]? GetPsk(byte[] identity)
    {
        try
        {
            // A copy: BouncyCastle zeroes the key once the premaster secret is computed, and the application's
            // callback may well hand out the same array every time.
            return provider(Encoding.UTF8.GetString(identity))?.ToArray();
        }
        catch (Exception)
        {
            return null; // the handshake fails with unknown_psk_identity, as for any identity without a key
        }
    }
}
