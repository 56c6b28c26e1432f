using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace UdpSessions.Cli.Tests;

/// <summary>Helpers for tests that run udps server commands (echo, forward) as processes.</summary>
internal static partial class ServerProcesses
{
    public static int FreeTcpPort()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public static async Task<int> WaitForUdpPortAsync(UdpsProcess echo, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            Match listening = Listening().Match(echo.StandardOutput);
            if (listening.Success)
            {
                return int.Parse(listening.Groups[1].Value, CultureInfo.InvariantCulture);
            }

            Assert.False(echo.HasExited, echo.ToString());
            await Task.Delay(50, deadline.Token);
        }
    }

    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done, CancellationToken cancellationToken)
    {
        T value = await read();
        for (int attempt = 0; attempt < 100 && !done(value); attempt++)
        {
            await Task.Delay(100, cancellationToken);
            value = await read();
        }

        return value;
    }

    [GeneratedRegex(@"listening on UDP 127\.0\.0\.1:(\d+)")]
    private static partial Regex Listening();
}
