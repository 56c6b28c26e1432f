using System.CommandLine;
using System.Net;

namespace UdpSessions.Cli.Commands;

/// <summary>
/// How a server shares, inherits and leaves its port (docs/operations.md): a shared port, a graceful handover to a
/// successor, the drain on SIGTERM, listeners from systemd, and PROXY protocol v2 from balancers.
/// </summary>
internal sealed class OperationsOptions
{
    private readonly Option<bool> _sharedPort = new("--shared-port")
    {
        Description = "Join the port's SO_REUSEPORT group when another process of this user holds it, instead of failing; the kernel spreads peers over every process.",
    };

    private readonly Option<string?> _handover = new("--handover-socket")
    {
        Description = "Unix socket path for graceful restarts: take the listeners of the server listening there (it drains), then listen there for a successor.",
    };

    private readonly Option<double> _drainTimeout = new("--drain-timeout-seconds")
    {
        Description = "What SIGTERM waits for: drain (no new peers, sessions served until they end) for up to this long, then stop; also how long the process serves its sessions after a successor took its listeners. 0: SIGTERM stops at once.",
        DefaultValueFactory = _ => 0,
    };

    private readonly Option<string?> _proxy = new("--proxy-protocol")
    {
        Description = "Decode PROXY protocol v2 headers from the --proxy-allow balancers: first (first datagram of each flow) or every (every datagram).",
    };

    private readonly Option<string[]> _proxyAllow = new("--proxy-allow")
    {
        Description = "A balancer address or network (CIDR) allowed to send PROXY headers; repeat for several.",
        AllowMultipleArgumentsPerToken = false,
    };

    public OperationsOptions()
    {
        _drainTimeout.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is < 0 or > 86_400)
            {
                r.AddError("--drain-timeout-seconds must be between 0 and 86400.");
            }
        });
        _proxy.AcceptOnlyFromAmong("first", "every");
        _proxyAllow.Validators.Add(r =>
        {
            foreach (string value in r.GetValueOrDefault<string[]>() ?? [])
            {
                if (!TryParseNetwork(value, out _))
                {
                    r.AddError($"--proxy-allow {value} is not an address or CIDR network.");
                }
            }
        });
    }

    public void AddTo(Command command)
    {
        command.Options.Add(_sharedPort);
        command.Options.Add(_handover);
        command.Options.Add(_drainTimeout);
        command.Options.Add(_proxy);
        command.Options.Add(_proxyAllow);
        command.Validators.Add(r =>
        {
            if (r.GetValue(_proxy) is not null && (r.GetValue(_proxyAllow) ?? []).Length == 0)
            {
                r.AddError("--proxy-protocol needs at least one --proxy-allow balancer address.");
            }
        });
    }

    /// <summary>The drain SIGTERM asks for; zero when SIGTERM stops at once.</summary>
    public TimeSpan DrainTimeout(ParseResult parseResult) => TimeSpan.FromSeconds(parseResult.GetValue(_drainTimeout));

    public void ApplyTo(ParseResult parseResult, SessionServerOptions options)
    {
        options.SharedPort = parseResult.GetValue(_sharedPort);
        options.HandoverPath = parseResult.GetValue(_handover);
        options.DrainTimeout = DrainTimeout(parseResult);
        if (parseResult.GetValue(_proxy) is { } mode)
        {
            options.ProxyProtocol = new ProxyProtocolOptions
            {
                Mode = mode == "every" ? ProxyProtocolMode.EveryDatagram : ProxyProtocolMode.FirstDatagram,
                AllowedSources = [.. (parseResult.GetValue(_proxyAllow) ?? []).Select(value => TryParseNetwork(value, out IPNetwork network) ? network : default)],
            };
        }

        // Socket activation: systemd (or systemd-socket-activate) bound the port; the sockets replace --host/--port.
        if (SocketActivation.DatagramSockets() is { Count: > 0 } sockets)
        {
            options.ListenerFileDescriptors = sockets;
        }
    }

    private static bool TryParseNetwork(string value, out IPNetwork network)
    {
        if (IPNetwork.TryParse(value, out network))
        {
            return true;
        }

        if (IPAddress.TryParse(value, out IPAddress? address))
        {
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return false;
    }
}
