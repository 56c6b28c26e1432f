using System.CommandLine;
using System.Globalization;
using UdpSessions.Dtls;

namespace UdpSessions.Cli.Commands;

/// <summary>
/// DTLS for <c>udps echo</c> (a server with a PEM certificate and/or a PSK) and <c>udps load</c> (the generator as
/// a DTLS client). Kept apart from the commands so DTLS stays one block of options in each.
/// </summary>
internal sealed class DtlsCliOptions
{
    private readonly Option<bool> _dtls = new("--dtls") { Description = "DTLS 1.2 on every session (echo: needs --cert/--key and/or --psk; load: PSK with --psk, otherwise certificate suites)." };
    private readonly Option<string?> _cert = new("--cert") { Description = "DTLS: the server's certificate, PEM (ECDSA P-256/P-384 or RSA)." };
    private readonly Option<string?> _key = new("--key") { Description = "DTLS: the certificate's unencrypted private key, PEM." };
    private readonly Option<string?> _psk = new("--psk") { Description = "DTLS: a pre-shared key as identity:hexkey (e.g. client1:00112233445566778899aabbccddeeff)." };
    private readonly Option<string?> _suite = new("--dtls-suite") { Description = "DTLS: the only cipher suite to offer, by name (e.g. PskWithAes128Ccm8, EcdheEcdsaWithAes128GcmSha256)." };
    private readonly Option<int?> _mtu = CliOptions.OptionalInt("--dtls-mtu", "DTLS: path MTU the handshake flights are fragmented to (default 1200).", 256, 65_535);
    private readonly Option<int?> _maxHandshakes = CliOptions.OptionalInt("--max-handshakes", "DTLS (echo): most handshakes in progress at once (default 64).", 1, 4096);
    private readonly Option<int> _handshakeThreads = CliOptions.Int("--handshake-threads", "DTLS (load): handshakes run in parallel while the sessions open.", 4, 1, 256);

    public void AddTo(Command command, bool server)
    {
        command.Options.Add(_dtls);
        if (server)
        {
            command.Options.Add(_cert);
            command.Options.Add(_key);
            command.Options.Add(_maxHandshakes);
        }
        else
        {
            command.Options.Add(_handshakeThreads);
        }

        command.Options.Add(_psk);
        command.Options.Add(_suite);
        command.Options.Add(_mtu);
        command.Validators.Add(result =>
        {
            if (result.GetValue(_dtls) && server && result.GetValue(_psk) is null && (result.GetValue(_cert) is null || result.GetValue(_key) is null))
            {
                result.AddError("--dtls needs --cert and --key, or --psk, or both.");
            }

            if (result.GetValue(_psk) is { } psk && !TryParsePsk(psk, out _, out _))
            {
                result.AddError("--psk must be identity:hexkey, with an even number of hex digits.");
            }

            if (result.GetValue(_suite) is { } suite && !Enum.TryParse<DtlsCipherSuite>(suite, ignoreCase: true, out _))
            {
                result.AddError($"--dtls-suite must be one of {string.Join(", ", Enum.GetNames<DtlsCipherSuite>())}.");
            }
        });
    }

    /// <summary>Makes <paramref name="other"/> a usage error together with --dtls.</summary>
    public void Excludes(Command command, Option other, string reason) =>
        command.Validators.Add(result =>
        {
            if (result.GetValue(_dtls) && result.GetResult(other) is { Implicit: false })
            {
                result.AddError($"--dtls cannot be combined with {other.Name}: {reason}.");
            }
        });

    /// <summary>Server side: sets <see cref="SessionServerOptions.Dtls"/> when --dtls is given.</summary>
    public void ApplyTo(ParseResult parseResult, SessionServerOptions options)
    {
        if (!parseResult.GetValue(_dtls))
        {
            return;
        }

        var dtls = new DtlsOptions
        {
            CertificatePemFile = parseResult.GetValue(_cert),
            PrivateKeyPemFile = parseResult.GetValue(_key),
            PathMtu = parseResult.GetValue(_mtu) ?? 1200,
            MaxConcurrentHandshakes = parseResult.GetValue(_maxHandshakes) ?? 64,
            CipherSuites = Suite(parseResult) is { } suite ? [suite] : null,
        };
        if (parseResult.GetValue(_psk) is { } psk && TryParsePsk(psk, out string identity, out byte[] key))
        {
            dtls.PskKeyProvider = candidate => candidate == identity ? key : null;
        }

        options.Dtls = dtls;
    }

    /// <summary>Client side: the generator's DTLS settings, or null without --dtls.</summary>
    public DtlsClientOptions? ClientOptions(ParseResult parseResult)
    {
        if (!parseResult.GetValue(_dtls))
        {
            return null;
        }

        var options = new DtlsClientOptions
        {
            PathMtu = parseResult.GetValue(_mtu) ?? 1200,
            CipherSuites = Suite(parseResult) is { } suite ? [suite] : null,
        };
        if (parseResult.GetValue(_psk) is { } psk && TryParsePsk(psk, out string identity, out byte[] key))
        {
            options.PskIdentity = identity;
            options.PskKey = key;
        }

        return options;
    }

    public int HandshakeThreads(ParseResult parseResult) => parseResult.GetValue(_handshakeThreads);

    /// <summary>The DTLS counters of a server run, for the closing summary.</summary>
    public static void WriteStatistics(TextWriter writer, DtlsStatistics s)
    {
        var c = CultureInfo.InvariantCulture;
        writer.WriteLine(string.Create(c,
            $"dtls handshakes: started={s.HandshakesStarted} completed={s.HandshakesCompleted} failed={s.HandshakesFailed} timedOut={s.HandshakesTimedOut} helloVerifyRequests={s.HelloVerifyRequestsSent}"));
        writer.WriteLine(string.Create(c,
            $"dtls records: received={s.RecordsReceived} delivered={s.RecordsDelivered} handshake={s.HandshakeRecords} alerts={s.AlertRecords} sent={s.RecordsSent} addressChanges={s.AddressChanges} restarts={s.PeerRestarts}"));
        writer.WriteLine("dtls drops: " + string.Join(' ', Enum.GetValues<DtlsDropReason>().Select(r => string.Create(c, $"{r}={s.GetDropped(r)}"))));
    }

    private DtlsCipherSuite? Suite(ParseResult parseResult) =>
        parseResult.GetValue(_suite) is { } name && Enum.TryParse(name, ignoreCase: true, out DtlsCipherSuite suite) ? suite : null;

    private static bool TryParsePsk(string text, out string identity, out byte[] key)
    {
        int colon = text.LastIndexOf(':');
        identity = colon > 0 ? text[..colon] : "";
        key = [];
        if (colon <= 0 || colon == text.Length - 1)
        {
            return false;
        }

        try
        {
            key = Convert.FromHexString(text[(colon + 1)..]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
