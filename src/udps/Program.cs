using System.CommandLine;
using UdpSessions.Cli.Commands;

var root = new RootCommand("udps: tools for UdpSessions servers.")
{
    EchoCommand.Create(),
    ForwardCommand.Create(),
    DemoCommand.Create(),
    LoadCommand.Create(),
    PlotCommand.Create(),
};

// The commands handle SIGINT and SIGTERM themselves (ShutdownSignal). Letting System.CommandLine register for them as
// well makes two handlers race: its handler can run after the action has finished and throw ObjectDisposedException
// from its disposed CancellationTokenSource, crashing a process that had stopped cleanly.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
ParseResult parsed = root.Parse(args);
int exitCode = await parsed.InvokeAsync(invocation);

// Usage errors exit with 2, so 1 keeps meaning "the run found a fault" (udps load, udps demo).
return parsed.Errors.Count > 0 ? 2 : exitCode;
