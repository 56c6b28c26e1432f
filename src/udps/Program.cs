using System.CommandLine;
using UdpSessions.Cli.Commands;

var root = new RootCommand("udps: tools for UdpSessions servers.")
{
    EchoCommand.Create(),
    DemoCommand.Create(),
    LoadCommand.Create(),
};

// The commands handle SIGINT and SIGTERM themselves (ShutdownSignal). Letting System.CommandLine register for them as
// well makes two handlers race: its handler can run after the action has finished and throw ObjectDisposedException
// from its disposed CancellationTokenSource, crashing a process that had stopped cleanly.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
return await root.Parse(args).InvokeAsync(invocation);
