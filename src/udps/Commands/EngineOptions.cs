using System.CommandLine;

namespace UdpSessions.Cli.Commands;

/// <summary>The engine choice shared by every command that runs a server.</summary>
internal sealed class EngineOptions
{
    private readonly Option<string> _engine = CliOptions.Choice("--engine", "I/O engine: auto (epoll on Linux, iocp on Windows), epoll, iocp or portable.", "auto", "auto", "epoll", "iocp", "portable");
    private readonly Option<int?> _threads = CliOptions.OptionalInt("--threads", "Server I/O threads (default: processor count; portable always uses 1).", 1, 1024);

    public void AddTo(Command command)
    {
        command.Options.Add(_engine);
        command.Options.Add(_threads);
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
    }
}
