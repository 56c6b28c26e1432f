namespace UdpSessions.Dtls.Records;

/// <summary>What the record layer and the handshake need to know about a supported suite.</summary>
internal sealed record CipherSuiteInfo(DtlsCipherSuite Suite, KeyExchangeKind KeyExchange, AeadKind Aead, int KeyLength, int TagLength)
{
    /// <summary>The implicit part of the nonce from the key block (RFC 5288, RFC 6655).</summary>
    public const int FixedIvLength = 4;

    /// <summary>The explicit part of the nonce carried in every record: the record's epoch and sequence number.</summary>
    public const int ExplicitNonceLength = 8;

    private static readonly Dictionary<DtlsCipherSuite, CipherSuiteInfo> s_all = new CipherSuiteInfo[]
    {
        new(DtlsCipherSuite.EcdheEcdsaWithAes128GcmSha256, KeyExchangeKind.EcdheEcdsa, AeadKind.Gcm, 16, 16),
        new(DtlsCipherSuite.EcdheEcdsaWithAes256GcmSha384, KeyExchangeKind.EcdheEcdsa, AeadKind.Gcm, 32, 16),
        new(DtlsCipherSuite.EcdheRsaWithAes128GcmSha256, KeyExchangeKind.EcdheRsa, AeadKind.Gcm, 16, 16),
        new(DtlsCipherSuite.EcdheRsaWithAes256GcmSha384, KeyExchangeKind.EcdheRsa, AeadKind.Gcm, 32, 16),
        new(DtlsCipherSuite.EcdheEcdsaWithAes128Ccm8, KeyExchangeKind.EcdheEcdsa, AeadKind.Ccm, 16, 8),
        new(DtlsCipherSuite.PskWithAes128Ccm8, KeyExchangeKind.Psk, AeadKind.Ccm, 16, 8),
        new(DtlsCipherSuite.PskWithAes128Ccm, KeyExchangeKind.Psk, AeadKind.Ccm, 16, 16),
        new(DtlsCipherSuite.PskWithAes128GcmSha256, KeyExchangeKind.Psk, AeadKind.Gcm, 16, 16),
    }.ToDictionary(info => info.Suite);

    /// <summary>Bytes of the TLS 1.2 key block for this suite: two keys and two fixed IVs (AEAD suites have no MAC keys).</summary>
    public int KeyBlockLength => (2 * KeyLength) + (2 * FixedIvLength);

    /// <summary>Bytes a record adds to its plaintext besides the header: explicit nonce and tag.</summary>
    public int Expansion => ExplicitNonceLength + TagLength;

    public static CipherSuiteInfo Get(DtlsCipherSuite suite) => s_all[suite];

    public static bool TryGet(int code, out CipherSuiteInfo info) => s_all.TryGetValue((DtlsCipherSuite)code, out info!);
}

internal enum KeyExchangeKind
{
    EcdheEcdsa,
    EcdheRsa,
    Psk,
}

internal enum AeadKind
{
    Gcm,
    Ccm,
}
