using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace UdpSessions.Dtls;

/// <summary>
/// DTLS 1.2 settings of a server (<see cref="SessionServerOptions.Dtls"/>): certificate mode, PSK mode or both, the
/// cipher suites, the path MTU the handshake is fragmented to, and the limits on handshakes in progress.
/// </summary>
public sealed class DtlsOptions
{
    /// <summary>The suites offered when <see cref="CipherSuites"/> is not set: ECDHE-ECDSA-AES128-GCM-SHA256,
    /// ECDHE-RSA-AES128-GCM-SHA256 and PSK-AES128-CCM8 (each only when its credential is configured).</summary>
    public static IReadOnlyList<DtlsCipherSuite> DefaultCipherSuites { get; } =
        [DtlsCipherSuite.EcdheEcdsaWithAes128GcmSha256, DtlsCipherSuite.EcdheRsaWithAes128GcmSha256, DtlsCipherSuite.PskWithAes128Ccm8];

    /// <summary>
    /// Certificate mode: the server's certificate with its private key, ECDSA (P-256 or P-384) or RSA (2048 bits or
    /// more). Null: set <see cref="CertificatePemFile"/> and <see cref="PrivateKeyPemFile"/>, or use PSK mode only.
    /// </summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Certificate mode from PEM files: the certificate (used when <see cref="Certificate"/> is null).</summary>
    public string? CertificatePemFile { get; set; }

    /// <summary>Certificate mode from PEM files: the unencrypted private key that goes with <see cref="CertificatePemFile"/>.</summary>
    public string? PrivateKeyPemFile { get; set; }

    /// <summary>
    /// PSK mode: returns the key for a PSK identity the client names (decoded as UTF-8), or null for an unknown identity
    /// (the handshake then fails). Called on a handshake worker thread; make it thread-safe.
    /// </summary>
    public Func<string, byte[]?>? PskKeyProvider { get; set; }

    /// <summary>PSK mode: the identity hint sent to clients in ServerKeyExchange, or null for none.</summary>
    public string? PskIdentityHint { get; set; }

    /// <summary>
    /// Suites in order of the server's preference. Null: <see cref="DefaultCipherSuites"/>. Suites whose credential
    /// is missing (a certificate suite without a certificate of that key type, a PSK suite without a key provider)
    /// are left out.
    /// </summary>
    public IList<DtlsCipherSuite>? CipherSuites { get; set; }

    /// <summary>
    /// The path MTU in bytes (IP packet size): handshake flights are fragmented so that each datagram, with its IP and
    /// UDP headers, fits. Default: 1200. Application records are not limited by it (one <see cref="Session.Send"/> is
    /// one record of up to 16,384 bytes of plaintext).
    /// </summary>
    public int PathMtu { get; set; } = 1200;

    /// <summary>A handshake that has not completed this long after its ClientHello was accepted is abandoned and its session closed. Default: 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Most handshakes in progress at once (half-open sessions); valid ClientHellos beyond it are dropped and counted
    /// (<see cref="DtlsDropReason.HandshakeLimit"/>) and the client retransmits. Each handshake in progress holds one
    /// handshake worker thread (BouncyCastle's handshake is blocking). Default: 64.
    /// </summary>
    public int MaxConcurrentHandshakes { get; set; } = 64;

    /// <summary>
    /// Issue an 8-byte connection ID (RFC 9146) to clients that ask for one, so that their session survives a change
    /// of address (NAT rebinding). Default: true.
    /// </summary>
    public bool ConnectionIds { get; set; } = true;

    /// <summary>How often the HelloVerifyRequest cookie key is replaced (cookies of the previous key stay valid). Default: 1 hour.</summary>
    public TimeSpan CookieKeyRotationInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        Require(Certificate is not null || CertificatePemFile is not null || PskKeyProvider is not null, nameof(Certificate),
            "or CertificatePemFile or PskKeyProvider must be set (certificate mode, PSK mode or both)");
        Require((CertificatePemFile is null) == (PrivateKeyPemFile is null), nameof(PrivateKeyPemFile), "must be set together with CertificatePemFile");
        Require(PathMtu is >= 256 and <= 65_535, nameof(PathMtu), "must be between 256 and 65535");
        Require(HandshakeTimeout >= TimeSpan.FromMilliseconds(100) && HandshakeTimeout <= TimeSpan.FromMinutes(10),
            nameof(HandshakeTimeout), "must be between 100 ms and 10 minutes");
        Require(MaxConcurrentHandshakes is >= 1 and <= 4096, nameof(MaxConcurrentHandshakes), "must be between 1 and 4096");
        Require(CookieKeyRotationInterval >= TimeSpan.FromMinutes(1), nameof(CookieKeyRotationInterval), "must be at least one minute");
        if (CipherSuites is not null)
        {
            Require(CipherSuites.Count > 0, nameof(CipherSuites), "must not be empty");
            foreach (DtlsCipherSuite suite in CipherSuites)
            {
                Require(Enum.IsDefined(suite), nameof(CipherSuites), $"contains an unsupported suite ({(int)suite:X4})");
            }
        }
    }

    /// <summary>The certificate in force: <see cref="Certificate"/>, or the PEM files loaded. Throws when a file cannot be read.</summary>
    internal X509Certificate2? LoadCertificate()
    {
        if (Certificate is not null)
        {
            return Certificate;
        }

        if (CertificatePemFile is null)
        {
            return null;
        }

        try
        {
            return X509Certificate2.CreateFromPemFile(CertificatePemFile, PrivateKeyPemFile);
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"The DTLS certificate could not be loaded from {CertificatePemFile} and {PrivateKeyPemFile}: {e.Message}", nameof(CertificatePemFile), e);
        }
    }

    internal DtlsOptions Clone()
    {
        var copy = (DtlsOptions)MemberwiseClone();
        copy.CipherSuites = CipherSuites is null ? null : [.. CipherSuites];
        return copy;
    }

    private static void Require(bool condition, string name, string problem)
    {
        if (!condition)
        {
            throw new ArgumentException($"Dtls.{name} {problem}.", name);
        }
    }
}
