using Org.BouncyCastle.Tls;

namespace UdpSessions.Dtls.Handshake;

/// <summary>
/// BouncyCastle's view of our server for one handshake: DTLS 1.2 only, the configured AEAD suites, certificate
/// and/or PSK credentials, P-256 preferred for ECDHE (the platform computes it), a connection ID when the client
/// asks, and the keys handed to <see cref="HandshakeJob"/> once the handshake completed.
/// </summary>
internal sealed class ServerPeer(ServerSettings settings, HandshakeJob job) : AbstractTlsServer(settings.Crypto)
{
    public override ProtocolVersion[] GetProtocolVersions() => ProtocolVersion.DTLSv12.Only();

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => settings.Suites;

    /// <summary>The server's order decides: certificate suites in the order configured, PSK when the client has no certificate suite in common.</summary>
    protected override bool PreferLocalCipherSuites() => true;

    public override TlsCredentials? GetCredentials() => m_context.SecurityParameters.KeyExchangeAlgorithm switch
    {
        KeyExchangeAlgorithm.ECDHE_ECDSA or KeyExchangeAlgorithm.ECDHE_RSA => settings.Credentials?.CreateSigner(m_context)
            ?? throw new TlsFatalAlert(AlertDescription.internal_error),
        KeyExchangeAlgorithm.PSK => null,
        _ => throw new TlsFatalAlert(AlertDescription.internal_error),
    };

    public override TlsPskIdentityManager? GetPskIdentityManager() => settings.PskKeys;

    public override int GetHandshakeTimeoutMillis() => settings.HandshakeTimeoutMilliseconds;

    public override int GetHandshakeResendTimeMillis() => 1000; // RFC 6347 4.2.4.1: 1 s initial, doubling

    protected override byte[]? GetNewConnectionID() => settings.Options.ConnectionIds ? job.AllocateConnectionId() : null;

    /// <summary>P-256 first when the client supports it (the platform computes it fastest), then the client's order.</summary>
    protected override int SelectECDH(int minimumCurveBits)
    {
        int[]? offered = m_context.SecurityParameters.ClientSupportedGroups;
        if (offered is null || Array.IndexOf(offered, NamedGroup.secp256r1) >= 0)
        {
            return minimumCurveBits <= 256 ? NamedGroup.secp256r1 : base.SelectECDH(minimumCurveBits);
        }

        return base.SelectECDH(minimumCurveBits);
    }

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        job.CaptureKeys(m_context);
    }

    public override void NotifyAlertReceived(short alertLevel, short alertDescription) => job.AlertReceived = (byte)alertDescription;
}
