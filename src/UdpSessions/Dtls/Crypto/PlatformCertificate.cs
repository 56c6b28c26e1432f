using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace UdpSessions.Dtls.Crypto;

/// <summary>
/// A peer's X.509 certificate whose ECDSA signatures are verified by the platform (the client side of a handshake
/// verifies the server's ServerKeyExchange with it); other algorithms stay BouncyCastle's.
/// </summary>
internal sealed class PlatformCertificate(BcTlsCrypto crypto, byte[] encoding) : BcTlsCertificate(crypto, encoding)
{
    public override TlsVerifier CreateVerifier(short signatureAlgorithm)
    {
        if (signatureAlgorithm != SignatureAlgorithm.ecdsa)
        {
            return base.CreateVerifier(signatureAlgorithm);
        }

        using var certificate = X509CertificateLoader.LoadCertificate(GetEncoded());
        ECDsa key = certificate.GetECDsaPublicKey() ?? throw new TlsFatalAlert(AlertDescription.certificate_unknown);
        return new EcdsaVerifier(key);
    }

    private sealed class EcdsaVerifier(ECDsa key) : TlsVerifier
    {
        public TlsStreamVerifier? GetStreamVerifier(DigitallySigned digitallySigned) => null;

        public bool VerifyRawSignature(DigitallySigned digitallySigned, byte[] hash)
        {
            try
            {
                return key.VerifyHash(hash, digitallySigned.Signature, DSASignatureFormat.Rfc3279DerSequence);
            }
            catch (CryptographicException)
            {
                return false;
            }
            finally
            {
                key.Dispose();
            }
        }
    }
}
