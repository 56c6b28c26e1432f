namespace UdpSessions.Dtls;

/// <summary>
/// The DTLS 1.2 cipher suites UdpSessions can negotiate: AEAD suites only (AES-GCM and AES-CCM), whose records its
/// own record layer protects with <see cref="System.Security.Cryptography"/>. Values are the IANA code points.
/// </summary>
public enum DtlsCipherSuite
{
    /// <summary>TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (OpenSSL: ECDHE-ECDSA-AES128-GCM-SHA256). A default.</summary>
    EcdheEcdsaWithAes128GcmSha256 = 0xC02B,

    /// <summary>TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.</summary>
    EcdheEcdsaWithAes256GcmSha384 = 0xC02C,

    /// <summary>TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (OpenSSL: ECDHE-RSA-AES128-GCM-SHA256). A default.</summary>
    EcdheRsaWithAes128GcmSha256 = 0xC02F,

    /// <summary>TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384.</summary>
    EcdheRsaWithAes256GcmSha384 = 0xC030,

    /// <summary>TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (CoAP's certificate mode, RFC 7252).</summary>
    EcdheEcdsaWithAes128Ccm8 = 0xC0AE,

    /// <summary>TLS_PSK_WITH_AES_128_CCM_8 (OpenSSL: PSK-AES128-CCM8; CoAP's PSK mode, RFC 7252). A default.</summary>
    PskWithAes128Ccm8 = 0xC0A8,

    /// <summary>TLS_PSK_WITH_AES_128_CCM.</summary>
    PskWithAes128Ccm = 0xC0A4,

    /// <summary>TLS_PSK_WITH_AES_128_GCM_SHA256.</summary>
    PskWithAes128GcmSha256 = 0x00A8,
}
