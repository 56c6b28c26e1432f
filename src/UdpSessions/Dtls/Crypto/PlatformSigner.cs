using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;

namespace UdpSessions.Dtls.Crypto;

/// <summary>
/// Signs the server's key exchange with the certificate's private key through the platform (ECDSA or RSA PKCS#1 /
/// PSS). BouncyCastle hashes the signed data and hands the digest here.
/// </summary>
internal sealed class PlatformSigner(AsymmetricAlgorithm key) : TlsSigner
{
    public byte[] GenerateRawSignature(SignatureAndHashAlgorithm algorithm, byte[] hash)
    {
        try
        {
            return key switch
            {
                ECDsa ecdsa => ecdsa.SignHash(hash, DSASignatureFormat.Rfc3279DerSequence),
                RSA rsa => rsa.SignHash(hash, HashName(hash.Length), algorithm.Signature == SignatureAlgorithm.rsa ? RSASignaturePadding.Pkcs1 : RSASignaturePadding.Pss),
                _ => throw new TlsFatalAlert(AlertDescription.internal_error),
            };
        }
        catch (CryptographicException e)
        {
            throw new TlsFatalAlert(AlertDescription.internal_error, (string?)null, e);
        }
    }

    /// <summary>Null: BouncyCastle then computes the digest and calls <see cref="GenerateRawSignature"/>.</summary>
    public TlsStreamSigner? GetStreamSigner(SignatureAndHashAlgorithm algorithm) => null;

    private static HashAlgorithmName HashName(int length) => length switch
    {
        32 => HashAlgorithmName.SHA256,
        48 => HashAlgorithmName.SHA384,
        64 => HashAlgorithmName.SHA512,
        _ => throw new TlsFatalAlert(AlertDescription.internal_error),
    };
}
