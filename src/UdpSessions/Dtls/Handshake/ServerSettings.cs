using UdpSessions.Dtls.Crypto;
using UdpSessions.Dtls.Records;

namespace UdpSessions.Dtls.Handshake;

/// <summary>What every handshake of one server shares, built once from <see cref="DtlsOptions"/>.</summary>
internal sealed class ServerSettings
{
    public ServerSettings(DtlsOptions options, int maxDatagramSize, bool ipv6)
    {
        Options = options;
        Crypto = new PlatformTlsCrypto();
        if (options.LoadCertificate() is { } certificate)
        {
            Credentials = ServerCredentials.From(certificate, Crypto);
        }

        if (options.PskKeyProvider is { } provider)
        {
            PskKeys = new PskKeys(provider, options.PskIdentityHint);
        }

        Suites = [.. ((IEnumerable<DtlsCipherSuite>?)options.CipherSuites ?? DtlsOptions.DefaultCipherSuites).Distinct().Where(Usable).Select(s => (int)s)];
        if (Suites.Length == 0)
        {
            throw new ArgumentException("No configured DTLS cipher suite has its credential (a certificate of the suite's key type, or a PSK key provider).", nameof(options));
        }

        Cookies = new DtlsCookies(options.CookieKeyRotationInterval);
        SendLimit = options.PathMtu - (ipv6 ? 48 : 28);
        ReceiveLimit = maxDatagramSize;
    }

    public DtlsOptions Options { get; }

    public PlatformTlsCrypto Crypto { get; }

    public ServerCredentials? Credentials { get; }

    public PskKeys? PskKeys { get; }

    /// <summary>The suites offered, in preference order, as BouncyCastle's integers.</summary>
    public int[] Suites { get; }

    public DtlsCookies Cookies { get; }

    /// <summary>The largest datagram a handshake flight may use: the path MTU less IP and UDP headers.</summary>
    public int SendLimit { get; }

    public int ReceiveLimit { get; }

    public int HandshakeTimeoutMilliseconds => (int)Options.HandshakeTimeout.TotalMilliseconds;

    private bool Usable(DtlsCipherSuite suite) => CipherSuiteInfo.Get(suite).KeyExchange switch
    {
        KeyExchangeKind.Psk => PskKeys is not null,
        KeyExchangeKind kind => Credentials?.KeyExchange == kind,
    };
}
