using System.Diagnostics;
using System.Runtime.InteropServices;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>
/// Runs a test body on a thread of its own in a fresh network namespace (unshare(CLONE_NEWNET) acts on the calling
/// thread only). Sockets belong to the namespace they were created in, and threads and processes started from that
/// thread inherit it, so a server started there (listener, I/O threads, session sockets) and the test's clients live
/// in a private loopback that the test may shape with tc without touching anyone else's.
/// </summary>
internal static partial class NetworkNamespace
{
    private const int CloneNewNet = 0x40000000;

    /// <summary>Runs <paramref name="body"/> in a new network namespace after bringing lo up and running <paramref name="setup"/> (shell commands) there.</summary>
    public static void Run(string[] setup, Action body, TimeSpan timeout)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "network namespaces are Linux-only");
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                if (Unshare(CloneNewNet) != 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    Assert.Skip($"unshare(CLONE_NEWNET) failed with errno {errno} (needs CAP_SYS_ADMIN)");
                }

                foreach (string command in new[] { "ip link set lo up" }.Concat(setup))
                {
                    RunCommand(command);
                }

                body();
            }
            catch (Exception exception)
            {
                failure = exception;
            }
        })
        { IsBackground = true, Name = "netns-test" };
        thread.Start();
        if (!thread.Join(timeout))
        {
            Assert.Fail($"the test body did not finish within {timeout.TotalSeconds} s");
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }
    }

    private static void RunCommand(string command)
    {
        using var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        if (!process.WaitForExit(10_000))
        {
            process.Kill();
            Assert.Fail($"'{command}' did not finish");
        }

        string error = process.StandardError.ReadToEnd();
        if (process.ExitCode != 0)
        {
            Assert.Skip($"'{command}' failed ({process.ExitCode}): {error.Trim()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "unshare", SetLastError = true)]
    private static partial int Unshare(int flags);
}
