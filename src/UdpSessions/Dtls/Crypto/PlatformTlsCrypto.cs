using System.Security.Cryptography;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace UdpSessions.Dtls.Crypto;

/// <summary>
/// BouncyCastle's TLS crypto with the expensive elliptic-curve operations moved to the platform: ephemeral ECDH on
/// P-256 and P-384 (OpenSSL's EC_KEY directly on Linux, <see cref="ECDiffieHellman"/> elsewhere), and ECDSA
/// verification of a server's signature (<see cref="System.Security.Cryptography"/>; the server's own signature is
/// made by <see cref="PlatformSigner"/>). BouncyCastle's managed EC arithmetic costs
/// milliseconds per handshake; the platform's costs tens of microseconds. Everything else (hashes, PRF, the
/// handshake's own records) stays BouncyCastle's.
/// </summary>
internal sealed class PlatformTlsCrypto(SecureRandom random) : BcTlsCrypto(random)
{
    public PlatformTlsCrypto()
        : this(new SecureRandom())
    {
    }

    public override TlsECDomain CreateECDomain(TlsECConfig ecConfig) => ecConfig.NamedGroup switch
    {
        NamedGroup.secp256r1 => new PlatformECDomain(this, ECCurve.NamedCurves.nistP256, Interop.Linux.LibCrypto.NidP256, 32),
        NamedGroup.secp384r1 => new PlatformECDomain(this, ECCurve.NamedCurves.nistP384, Interop.Linux.LibCrypto.NidP384, 48),
        _ => base.CreateECDomain(ecConfig),
    };

    public override TlsCertificate CreateCertificate(short type, byte[] encoding) =>
        type == CertificateType.X509 ? new PlatformCertificate(this, encoding) : base.CreateCertificate(type, encoding);

    private sealed class PlatformECDomain(PlatformTlsCrypto crypto, ECCurve curve, int nid, int coordinateLength) : TlsECDomain
    {
        public TlsAgreement CreateECDH() => NativeEcdh.IsSupported
            ? new NativeEcdh(crypto, nid, coordinateLength)
            : new PlatformEcdh(crypto, curve, coordinateLength);
    }
}
