using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>
/// Runs a real peer program (openssl, gnutls-cli, coap-client, socat) with a bounded lifetime. A missing program fails the
/// test with the package to install: CI installs them (.ci/run), so a skip would hide a broken setup.
/// </summary>
public sealed class ExternalProgram : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    private ExternalProgram(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(_output, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_error, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output => Read(_output);

    public string Error => Read(_error);

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <paramref name="program"/>; fails the test naming <paramref name="package"/> when it is not installed.</summary>
    public static ExternalProgram Start(string program, string package, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            return new ExternalProgram(Process.Start(start)!);
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"{program} is not installed ({e.Message}): apt-get install -y {package} (.ci/run installs it).");
            throw;
        }
    }

    public void WriteLine(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>Waits until the program's output contains <paramref name="text"/>; fails with its output after <paramref name="timeout"/>.</summary>
    public void WaitForOutput(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > timeout || _process.HasExited && !Output.Contains(text, StringComparison.Ordinal) && clock.Elapsed > TimeSpan.FromSeconds(1))
            {
                Assert.Fail($"'{text}' not in the output of {_process.StartInfo.FileName} after {clock.Elapsed.TotalSeconds:F1} s " +
                    $"(exited: {_process.HasExited}). stdout: {Output} stderr: {Error}");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the program to exit on its own; true when it did (output read to the end).</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return false;
        }

        _process.WaitForExit();
        return true;
    }

    public override string ToString() =>
        $"exit {(HasExited ? ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "(running)")}, stdout [{Output.Trim()}], stderr [{Error.Trim()}]";

    /// <summary>Closes stdin and waits (bounded) for the program to exit; returns its exit code (-1 if it had to be killed).</summary>
    public int Finish(TimeSpan timeout)
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // it has exited already
        }

        if (_process.WaitForExit(timeout))
        {
            _process.WaitForExit(); // flush the asynchronous readers
            return _process.ExitCode;
        }

        _process.Kill(entireProcessTree: true);
        return -1;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is not null)
        {
            lock (builder)
            {
                builder.AppendLine(line);
            }
        }
    }

    private static string Read(StringBuilder builder)
    {
        lock (builder)
        {
            return builder.ToString();
        }
    }
}
