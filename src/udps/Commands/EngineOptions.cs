using System.CommandLine;

namespace UdpSessions.Cli.Commands;

/// <summary>The engine choice shared by every command that runs a server.</summary>
internal sealed class EngineOptions
{
    private readonly Option<string> _engine = CliOptions.Choice("--engine", "I/O engine: auto (epoll on Linux, iocp on Windows), epoll, iocp or portable.", "auto", "auto", "epoll", "iocp", "portable");
    private readonly Option<int?> _threads = CliOptions.OptionalInt("--threads", "Server I/O threads (default: processor count; portable always uses 1).", 1, 1024);
    private readonly Option<string> _placement = CliOptions.Choice("--placement",
        "epoll: where sessions are served: adaptive (on the listeners until busy, then a socket of their own), addressmap (always on the listeners) or ownsocket (always a socket of their own).",
        "adaptive", "adaptive", "addressmap", "ownsocket");
    private readonly Option<int?> _promotionRate = CliOptions.OptionalInt("--promotion-rate",
        "epoll, adaptive: datagrams per second read while another of the session's was still queued that earn it a socket of its own (default 64).", 1, 100_000_000);

    public void AddTo(Command command)
    {
        command.Options.Add(_engine);
        command.Options.Add(_threads);
        command.Options.Add(_placement);
        command.Options.Add(_promotionRate);
    }

    public void ApplyTo(ParseResult parseResult, SessionServerOptions options)
    {
        options.Engine = parseResult.GetValue(_engine) switch
        {
            "epoll" => EngineKind.Epoll,
            "iocp" => EngineKind.Iocp,
            "portable" => EngineKind.Portable,
            _ => EngineKind.Auto,
        };
        if (parseResult.GetValue(_threads) is int threads)
        {
            options.IoThreads = threads;
        }

        options.Placement = parseResult.GetValue(_placement) switch
        {
            "addressmap" => SessionPlacement.AddressMap,
            "ownsocket" => SessionPlacement.OwnSocket,
            _ => SessionPlacement.Adaptive,
        };
        if (parseResult.GetValue(_promotionRate) is int rate)
        {
            options.PromotionQueuedDatagramsPerSecond = rate;
        }
    }
}
