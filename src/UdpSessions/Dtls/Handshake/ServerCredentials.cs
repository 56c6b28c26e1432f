using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using UdpSessions.Dtls.Crypto;

namespace UdpSessions.Dtls.Handshake;

/// <summary>The server's certificate and private key, loaded once, and the signer BouncyCastle asks for per handshake.</summary>
internal sealed class ServerCredentials
{
    private readonly Certificate _certificate;
    private readonly AsymmetricAlgorithm _key;
    private readonly int _curveBits;

    private ServerCredentials(Certificate certificate, AsymmetricAlgorithm key, int curveBits)
    {
        _certificate = certificate;
        _key = key;
        _curveBits = curveBits;
    }

    /// <summary>ECDSA or RSA: which certificate suites this credential can serve.</summary>
    public Records.KeyExchangeKind KeyExchange => _key is ECDsa ? Records.KeyExchangeKind.EcdheEcdsa : Records.KeyExchangeKind.EcdheRsa;

    /// <summary>Reads the certificate's private key; throws <see cref="ArgumentException"/> for a key it cannot use.</summary>
    public static ServerCredentials From(X509Certificate2 certificate, TlsCrypto crypto)
    {
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("The DTLS certificate has no private key.", nameof(certificate));
        }

        AsymmetricAlgorithm key;
        int curveBits = 0;
        if (certificate.GetECDsaPrivateKey() is { } ecdsa)
        {
            curveBits = ecdsa.KeySize;
            if (curveBits is not (256 or 384))
            {
                throw new ArgumentException($"The DTLS certificate's ECDSA key is on a {curveBits}-bit curve; P-256 and P-384 are supported.", nameof(certificate));
            }

            key = ecdsa;
        }
        else if (certificate.GetRSAPrivateKey() is { } rsa)
        {
            if (rsa.KeySize < 2048)
            {
                throw new ArgumentException($"The DTLS certificate's RSA key has {rsa.KeySize} bits; at least 2048 are required.", nameof(certificate));
            }

            key = rsa;
        }
        else
        {
            throw new ArgumentException("The DTLS certificate's key is neither ECDSA nor RSA.", nameof(certificate));
        }

        var chain = new Certificate([crypto.CreateCertificate(certificate.RawData)]);
        return new ServerCredentials(chain, key, curveBits);
    }

    /// <summary>The signer for one handshake, with the signature algorithm chosen from what the client offered.</summary>
    public TlsCredentialedSigner CreateSigner(TlsContext context)
    {
        IList<SignatureAndHashAlgorithm>? offered = context.SecurityParameters.ClientSigAlgs;
        SignatureAndHashAlgorithm algorithm;
        if (_key is ECDsa)
        {
            algorithm = SignatureAndHashAlgorithm.GetInstance(_curveBits == 384 ? Org.BouncyCastle.Tls.HashAlgorithm.sha384 : Org.BouncyCastle.Tls.HashAlgorithm.sha256, SignatureAlgorithm.ecdsa);
        }
        else
        {
            var pkcs1 = SignatureAndHashAlgorithm.GetInstance(Org.BouncyCastle.Tls.HashAlgorithm.sha256, SignatureAlgorithm.rsa);
            algorithm = offered is null || offered.Contains(pkcs1) ? pkcs1 : SignatureAndHashAlgorithm.rsa_pss_rsae_sha256;
        }

        return new DefaultTlsCredentialedSigner(new TlsCryptoParameters(context), new PlatformSigner(_key), _certificate, algorithm);
    }
}
