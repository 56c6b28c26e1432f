using System.Diagnostics;
using System.Text;

namespace UdpSessions.Cli.Tests;

/// <summary>Runs the real <c>udps</c> executable (built next to the tests) as a child process, bounded in time.</summary>
internal sealed class UdpsProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private UdpsProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string StandardOutput
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static UdpsProcess Start(params string[] arguments) =>
        Start(new ProcessStartInfo("dotnet"), [Path.Combine(AppContext.BaseDirectory, "udps.dll"), .. arguments]);

    private static UdpsProcess Start(ProcessStartInfo info, string[] arguments)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = new Process { StartInfo = info };
        var run = new UdpsProcess(process);
        process.OutputDataReceived += (_, e) => Append(run._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(run._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return run;
    }

    /// <summary>Runs udps to its end (killed after <paramref name="timeout"/>) and returns its exit code.</summary>
    public static async Task<(int ExitCode, UdpsProcess Process)> RunAsync(TimeSpan timeout, CancellationToken cancellationToken, params string[] arguments)
    {
        UdpsProcess process = Start(arguments);
        return (await process.WaitAsync(timeout, cancellationToken), process);
    }

    public async Task<int> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"udps did not finish within {timeout}: {StandardOutput} {StandardError}");
        }

        _process.WaitForExit(); // flushes the redirected streams
        return _process.ExitCode;
    }

    /// <summary>Sends SIGINT, as Ctrl+C in a terminal does.</summary>
    public void Interrupt() => Signal("-INT");

    /// <summary>Sends SIGTERM, as a service manager stopping the service does.</summary>
    public void Terminate() => Signal("-TERM");

    /// <summary>Sends SIGKILL: the process ends at once, without closing anything itself.</summary>
    public void KillHard() => Signal("-KILL");

    /// <summary>Starts <paramref name="program"/> with the udps command line after its own arguments (e.g. systemd-socket-activate).</summary>
    public static UdpsProcess StartUnder(string program, string[] programArguments, params string[] arguments) =>
        Start(new ProcessStartInfo(program), [.. programArguments, "dotnet", Path.Combine(AppContext.BaseDirectory, "udps.dll"), .. arguments]);

    /// <summary>Waits (bounded) for the "listening on UDP ADDRESS:PORT" line and returns the port.</summary>
    public async Task<int> WaitForUdpPortAsync(CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        while (true)
        {
            System.Text.RegularExpressions.Match listening = System.Text.RegularExpressions.Regex.Match(StandardOutput, @"listening on UDP \S+:(\d+) ");
            if (listening.Success)
            {
                return int.Parse(listening.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }

            Assert.False(HasExited, "udps ended before it listened: " + ToString());
            await Task.Delay(50, deadline.Token);
        }
    }

    private void Signal(string signal)
    {
        using Process kill = Process.Start("kill", [signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    public override string ToString() => $"stdout: {StandardOutput}\nstderr: {StandardError}";

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (builder)
        {
            builder.AppendLine(line);
        }
    }
}
