using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace UdpSessions.Tests.Dtls;

/// <summary>Self-signed server certificates made once per test run (ECDSA P-256 and RSA 2048), with their keys.</summary>
public static class TestCertificates
{
    private static readonly Lazy<X509Certificate2> s_ecdsa = new(() =>
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return SelfSigned(new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256));
    });

    private static readonly Lazy<X509Certificate2> s_rsa = new(() =>
    {
        using var key = RSA.Create(2048);
        return SelfSigned(new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    });

    public static X509Certificate2 Ecdsa => s_ecdsa.Value;

    public static X509Certificate2 Rsa => s_rsa.Value;

    /// <summary>Writes <paramref name="certificate"/> and its private key as PEM files in <paramref name="directory"/>.</summary>
    public static (string Certificate, string Key) WritePem(X509Certificate2 certificate, string directory)
    {
        string certificatePath = Path.Combine(directory, "cert.pem");
        string keyPath = Path.Combine(directory, "key.pem");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()!;
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }

    private static X509Certificate2 SelfSigned(CertificateRequest request)
    {
        using X509Certificate2 created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

        // Through PKCS#12 so the private key is persisted the way every platform can use for signing.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }
}
