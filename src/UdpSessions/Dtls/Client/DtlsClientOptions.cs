using System.Security.Cryptography.X509Certificates;

namespace UdpSessions.Dtls;

/// <summary>Settings of a <see cref="DtlsClient"/>: PSK or certificate suites, connection ID, path MTU, handshake timeout.</summary>
public sealed class DtlsClientOptions
{
    /// <summary>PSK mode: the identity (sent as UTF-8). Set with <see cref="PskKey"/>.</summary>
    public string? PskIdentity { get; set; }

    /// <summary>PSK mode: the key.</summary>
    public byte[]? PskKey { get; set; }

    /// <summary>
    /// Suites to offer. Null: PSK-AES128-CCM8 and PSK-AES128-GCM-SHA256 with a PSK, otherwise the ECDHE-ECDSA and
    /// ECDHE-RSA AES-GCM suites.
    /// </summary>
    public IList<DtlsCipherSuite>? CipherSuites { get; set; }

    /// <summary>Ask the server for a connection ID (RFC 9146), so that the session survives a change of this client's address. Default: false.</summary>
    public bool RequestConnectionId { get; set; }

    /// <summary>The path MTU (IP packet size) the client's handshake flights are fragmented to. Default: 1200.</summary>
    public int PathMtu { get; set; } = 1200;

    /// <summary>How long the handshake may take. Default: 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Judges the server's certificate (leaf first); null accepts any certificate, as <c>gnutls-cli --insecure</c>
    /// does, which is only fit for tests and load generation.
    /// </summary>
    public Func<X509Certificate2, bool>? ServerCertificateValidator { get; set; }

    internal IEnumerable<DtlsCipherSuite> EffectiveSuites => CipherSuites ?? (PskKey is not null
        ? [DtlsCipherSuite.PskWithAes128Ccm8, DtlsCipherSuite.PskWithAes128GcmSha256]
        : [DtlsCipherSuite.EcdheEcdsaWithAes128GcmSha256, DtlsCipherSuite.EcdheRsaWithAes128GcmSha256]);
}
