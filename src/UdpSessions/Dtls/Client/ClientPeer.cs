using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Tls;
using UdpSessions.Dtls.Crypto;
using UdpSessions.Dtls.Handshake;

namespace UdpSessions.Dtls.Client;

/// <summary>BouncyCastle's view of our client: DTLS 1.2 only, the chosen suites, PSK or a server certificate check, P-256 first.</summary>
internal sealed class ClientPeer(PlatformTlsCrypto crypto, DtlsClientOptions options, ClientTransport transport) : AbstractTlsClient(crypto)
{
    public HandshakeKeys? Keys { get; private set; }

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => [.. options.EffectiveSuites.Select(s => (int)s)];

    public override TlsPskIdentity? GetPskIdentity() =>
        options.PskIdentity is { } identity && options.PskKey is { } key ? new BasicTlsPskIdentity(identity, key.ToArray()) : null; // BouncyCastle zeroes the key it is given

    public override TlsAuthentication GetAuthentication() => new ServerCheck(options.ServerCertificateValidator);

    public override int GetHandshakeTimeoutMillis() => (int)options.HandshakeTimeout.TotalMilliseconds;

    /// <summary>An empty ID: the server need not mark its records, but gives us one to put on ours (RFC 9146).</summary>
    protected override byte[]? GetNewConnectionID() => options.RequestConnectionId ? [] : null;

    protected override IList<int> GetSupportedGroups(IList<int> namedGroupRoles) => [NamedGroup.secp256r1, NamedGroup.x25519, NamedGroup.secp384r1];

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        Keys = HandshakeKeys.Capture(m_context, transport.LastEpoch1Sequence + 1);
    }

    private sealed class ServerCheck(Func<X509Certificate2, bool>? validator) : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
        {
            if (validator is null)
            {
                return;
            }

            using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(serverCertificate.Certificate.GetCertificateAt(0).GetEncoded());
            if (!validator(leaf))
            {
                throw new TlsFatalAlert(AlertDescription.bad_certificate);
            }
        }

        public TlsCredentials? GetClientCredentials(Org.BouncyCastle.Tls.CertificateRequest certificateRequest) => null;
    }
}
