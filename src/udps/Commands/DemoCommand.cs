using System.CommandLine;
using System.Globalization;
using System.Net;
using Spectre.Console;
using UdpSessions.Cli.Demo;
using UdpSessions.Cli.Echo;
using UdpSessions.Cli.Load;

namespace UdpSessions.Cli.Commands;

/// <summary>
/// <c>udps demo</c>: an echo server on loopback and a built-in client that loads it and verifies every reply.
/// Exits 1 if any datagram was lost, damaged, misrouted or duplicated.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        Option<int> sessions = CliOptions.Int("--sessions", "Client sessions, each its own socket and source port.", 200, 1, 1 << 20);
        Option<int> seconds = CliOptions.Int("--seconds", "Seconds to measure (after a 1 s warm-up).", 8, 1, 3600);
        Option<int> window = CliOptions.Int("--window", "Datagrams in flight per session.", 4, 1, 1024);
        Option<int> size = CliOptions.Int("--size", "Bytes per datagram, 20-byte header included.", 64, DatagramHeader.Size, LoadClientOptions.MaxDatagramSize);
        var engine = new EngineOptions();

        var command = new Command("demo", "Run an echo server on 127.0.0.1 and load it from a built-in client that checks every reply.");
        command.Options.Add(sessions);
        command.Options.Add(seconds);
        command.Options.Add(window);
        command.Options.Add(size);
        engine.AddTo(command);

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            int datagramSize = parseResult.GetValue(size);
            int sessionCount = parseResult.GetValue(sessions);
            var serverOptions = new SessionServerOptions
            {
                EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                MaxDatagramSize = Math.Max(datagramSize, new SessionServerOptions().MaxDatagramSize),
                MaxSessions = Math.Max(sessionCount, new SessionServerOptions().MaxSessions),
            };
            engine.ApplyTo(parseResult, serverOptions);
            return await RunAsync(serverOptions, sessionCount, parseResult.GetValue(window), datagramSize, parseResult.GetValue(seconds), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(
        SessionServerOptions serverOptions, int sessions, int window, int size, int seconds, CancellationToken invocationToken)
    {
        using var shutdown = new ShutdownSignal(invocationToken);
        SessionServer server;
        try
        {
            server = await SessionServer.StartAsync(serverOptions, new EchoHandler(), cancellationToken: shutdown.Token);
        }
        catch (Exception e) when (e is ArgumentException or PlatformNotSupportedException or System.Net.Sockets.SocketException)
        {
            await Console.Error.WriteLineAsync($"udps demo: cannot start the server: {e.Message}");
            return 2;
        }

        LoadResult result;
        ServerStatistics statistics;
        string engine = string.Create(CultureInfo.InvariantCulture, $"{server.EngineDescription}, {server.Options.IoThreads} I/O thread(s)");
        try
        {
            var client = new LoadClient(new LoadClientOptions
            {
                Target = server.LocalEndPoint,
                Sessions = sessions,
                Window = window,
                DatagramSize = size,
                Duration = TimeSpan.FromSeconds(seconds),
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"udps demo: echo server on {server.LocalEndPoint} ({engine}); {sessions} sessions x {window} in flight x {size} bytes; 1 s warm-up, {seconds} s measured"));
            result = await client.RunAsync(shutdown.Token);
            statistics = server.GetStatistics();
        }
        catch (System.Net.Sockets.SocketException e)
        {
            await Console.Error.WriteLineAsync($"udps demo: client failed: {e.Message}");
            return 2;
        }
        finally
        {
            await server.StopAsync(CancellationToken.None);
        }

        AnsiConsole.Write(DemoReport.Build(engine, result, statistics));
        if (result.Cancelled)
        {
            Console.WriteLine("udps demo: cancelled");
            return 130;
        }

        Console.WriteLine(result.Failures == 0
            ? "udps demo: PASS: every datagram came back once, intact, to its own session"
            : string.Create(CultureInfo.InvariantCulture, $"udps demo: FAIL: {result.Failures} datagram(s) lost, corrupt, misrouted or duplicated"));
        return result.Failures == 0 ? 0 : 1;
    }
}
