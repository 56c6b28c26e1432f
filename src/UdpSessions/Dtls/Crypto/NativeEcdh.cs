using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using UdpSessions.Interop.Linux;

namespace UdpSessions.Dtls.Crypto;

/// <summary>
/// Ephemeral ECDH straight on OpenSSL's EC_KEY (Linux): about a quarter of what the same exchange costs through
/// <see cref="ECDiffieHellman"/>, whose OpenSSL 3 path looks up providers and re-checks the public keys with a full
/// scalar multiplication on every import and derive. Used when libcrypto.so.3 can be called (<see cref="IsSupported"/>);
/// <see cref="PlatformEcdh"/> otherwise.
/// </summary>
internal sealed class NativeEcdh(TlsCrypto crypto, int nid, int coordinateLength) : TlsAgreement
{
    private static readonly Lazy<bool> s_supported = new(Probe);
    private SafeEcKeyHandle? _key;
    private byte[]? _peer;

    /// <summary>True on Linux when OpenSSL's EC_KEY functions can be called and work.</summary>
    public static bool IsSupported => s_supported.Value;

    public byte[] GenerateEphemeral()
    {
        _key = LibCrypto.EcKeyNewByCurveName(nid);
        byte[] encoded = new byte[1 + (2 * coordinateLength)];
        if (_key.IsInvalid || LibCrypto.EcKeyGenerateKey(_key) != 1 || LibCrypto.WritePublicPoint(_key, encoded) != encoded.Length)
        {
            LibCrypto.ErrClearError();
            throw new TlsFatalAlert(AlertDescription.internal_error, "OpenSSL could not generate an ephemeral key");
        }

        return encoded;
    }

    public void ReceivePeerValue(byte[] peerValue)
    {
        if (peerValue.Length != 1 + (2 * coordinateLength) || peerValue[0] != 0x04)
        {
            throw new TlsFatalAlert(AlertDescription.illegal_parameter);
        }

        _peer = peerValue;
    }

    public TlsSecret CalculateSecret()
    {
        if (_key is null || _peer is null)
        {
            throw new TlsFatalAlert(AlertDescription.internal_error);
        }

        Span<byte> secret = stackalloc byte[coordinateLength];
        try
        {
            if (!LibCrypto.ComputeSharedSecret(_key, _peer, secret))
            {
                throw new TlsFatalAlert(AlertDescription.illegal_parameter, "the peer's point is not on the curve");
            }

            return crypto.CreateSecret(secret.ToArray());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
            _key.Dispose();
        }
    }

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            using SafeEcKeyHandle key = LibCrypto.EcKeyNewByCurveName(LibCrypto.NidP256);
            Span<byte> point = stackalloc byte[65];
            return !key.IsInvalid && LibCrypto.EcKeyGenerateKey(key) == 1 && LibCrypto.WritePublicPoint(key, point) == 65;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }
}
