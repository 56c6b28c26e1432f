using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;

namespace UdpSessions.Dtls.Crypto;

/// <summary>
/// Ephemeral ECDH on a NIST curve through <see cref="ECDiffieHellman"/>. Points travel in the uncompressed form TLS
/// uses (0x04 | X | Y); the platform checks that the peer's point is on the curve when it is imported.
/// </summary>
internal sealed class PlatformEcdh(TlsCrypto crypto, ECCurve curve, int coordinateLength) : TlsAgreement
{
    private ECDiffieHellman? _local;
    private ECParameters _peer;

    public byte[] GenerateEphemeral()
    {
        _local = ECDiffieHellman.Create(curve);
        ECParameters parameters = _local.ExportParameters(includePrivateParameters: false);
        byte[] encoded = new byte[1 + (2 * coordinateLength)];
        encoded[0] = 0x04;
        parameters.Q.X.AsSpan().CopyTo(encoded.AsSpan(1 + coordinateLength - parameters.Q.X!.Length));
        parameters.Q.Y.AsSpan().CopyTo(encoded.AsSpan(1 + (2 * coordinateLength) - parameters.Q.Y!.Length));
        return encoded;
    }

    public void ReceivePeerValue(byte[] peerValue)
    {
        if (peerValue.Length != 1 + (2 * coordinateLength) || peerValue[0] != 0x04)
        {
            throw new TlsFatalAlert(AlertDescription.illegal_parameter);
        }

        _peer = new ECParameters
        {
            Curve = curve,
            Q = new ECPoint { X = peerValue[1..(1 + coordinateLength)], Y = peerValue[(1 + coordinateLength)..] },
        };
    }

    public TlsSecret CalculateSecret()
    {
        if (_local is null || _peer.Q.X is null)
        {
            throw new TlsFatalAlert(AlertDescription.internal_error);
        }

        try
        {
            using ECDiffieHellman peer = ECDiffieHellman.Create(_peer);
            byte[] secret = _local.DeriveRawSecretAgreement(peer.PublicKey);
            try
            {
                return crypto.CreateSecret(secret);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }
        catch (CryptographicException e)
        {
            throw new TlsFatalAlert(AlertDescription.illegal_parameter, (string?)null, e); // not a point on the curve
        }
        finally
        {
            _local.Dispose();
        }
    }
}
