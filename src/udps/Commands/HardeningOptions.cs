using System.CommandLine;

namespace UdpSessions.Cli.Commands;

/// <summary>The flood defenses of a server: new-session rate limits and the cookie accept filter (docs/hardening.md).</summary>
internal sealed class HardeningOptions
{
    private readonly Option<int?> _rate = CliOptions.OptionalInt("--max-new-sessions-per-second",
        "Most new sessions per second for the whole server (burst: one second's worth; default: no limit).", 1, 10_000_000);
    private readonly Option<int?> _perSource = CliOptions.OptionalInt("--max-new-sessions-per-second-per-source",
        "Most new sessions per second from one source prefix (default: no limit).", 1, 10_000_000);
    private readonly Option<int?> _prefixV4 = CliOptions.OptionalInt("--source-prefix-ipv4", "Bits of an IPv4 address that make one source (default 32).", 0, 32);
    private readonly Option<int?> _prefixV6 = CliOptions.OptionalInt("--source-prefix-ipv6", "Bits of an IPv6 address that make one source (default 64).", 0, 128);
    private readonly Option<int?> _tableSize = CliOptions.OptionalInt("--source-table-size", "Slots of the fixed per-source rate table (default 16384).", 16, 1 << 24);
    private readonly Option<bool> _cookie = new("--require-cookie")
    {
        Description = "Validate new peers with a stateless cookie: a first datagram must start with a cookie the server sent (CookieAcceptFilter).",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_rate);
        command.Options.Add(_perSource);
        command.Options.Add(_prefixV4);
        command.Options.Add(_prefixV6);
        command.Options.Add(_tableSize);
        command.Options.Add(_cookie);
    }

    public void ApplyTo(ParseResult parseResult, SessionServerOptions options)
    {
        options.MaxNewSessionsPerSecond = parseResult.GetValue(_rate);
        options.MaxNewSessionsPerSecondPerSource = parseResult.GetValue(_perSource);
        options.SourcePrefixLengthIPv4 = parseResult.GetValue(_prefixV4) ?? options.SourcePrefixLengthIPv4;
        options.SourcePrefixLengthIPv6 = parseResult.GetValue(_prefixV6) ?? options.SourcePrefixLengthIPv6;
        options.SourceTableSize = parseResult.GetValue(_tableSize) ?? options.SourceTableSize;
        if (parseResult.GetValue(_cookie))
        {
            options.AcceptFilter = new CookieAcceptFilter(new StatelessCookie());
        }
    }
}
