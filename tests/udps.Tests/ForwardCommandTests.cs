using System.Globalization;
using System.Net;
using UdpSessions.Cli.Load;

namespace UdpSessions.Cli.Tests;

/// <summary>
/// <c>udps forward</c> as a user runs it, in front of a real <c>udps echo</c>: the verifying load client (the code of
/// <c>udps load</c>) through it with one session, 5,000 and churn, its rate lines, its metrics scraped over HTTP, and a
/// clean stop with its summary.
/// </summary>
public class ForwardCommandTests
{
    [Fact(Timeout = 180_000)]
    public async Task Forward_in_front_of_udps_echo_loses_nothing_and_serves_its_metrics()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        using UdpsProcess echo = UdpsProcess.Start("echo", "--host", "127.0.0.1", "--port", "0", "--quiet", "--idle-timeout-seconds", "2");
        int echoPort = await ServerProcesses.WaitForUdpPortAsync(echo, cancellationToken);
        int metricsPort = ServerProcesses.FreeTcpPort();
        using UdpsProcess forward = UdpsProcess.Start("forward", "--listen", "127.0.0.1:0", "--upstream", $"127.0.0.1:{echoPort}",
            "--idle-timeout-seconds", "2", "--metrics", $"http://127.0.0.1:{metricsPort}/");
        int port = await ServerProcesses.WaitForUdpPortAsync(forward, cancellationToken);
        var target = new IPEndPoint(IPAddress.Loopback, port);
        string Describe(LoadResult r) => $"{LoadRuns.Describe(r)}\nforward: {forward}\necho: {echo}";

        long sent = 0;
        foreach (LoadClientOptions options in new LoadClientOptions[]
        {
            new() { Target = target, Sessions = 1, Window = 4, WarmUp = TimeSpan.FromMilliseconds(200), Duration = TimeSpan.FromSeconds(1.5), Threads = 2 },
            new() { Target = target, Sessions = 5_000, Window = 1, WarmUp = TimeSpan.FromSeconds(1), Duration = TimeSpan.FromSeconds(3), ReplyTimeout = TimeSpan.FromSeconds(2), Threads = 2 },
            // Churn at a bounded rate: 1,000 new sessions/s. Flat out, departed sessions (2 s idle timeout) would pile up
            // past the forwarder's fd budget, and the newest would wait, then be dropped (counted, as designed).
            new() { Target = target, Sessions = 100, Window = 1, Churn = 4, Rate = 4_000, WarmUp = TimeSpan.FromMilliseconds(200), Duration = TimeSpan.FromSeconds(2), Threads = 2 },
        })
        {
            LoadResult result = await LoadRuns.RunAsync(options, cancellationToken);
            Assert.True(result.Lost == 0 && result.Corrupt == 0 && result.Misrouted == 0 && result.Duplicates == 0 && result.Late == 0 && result.Replies > 0,
                Describe(result));
            Assert.True(result.SendErrors == 0 && result.ReceiveErrors == 0 && result.OpenErrors == 0, Describe(result));
            sent += result.Sent;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        (string Key, string Value)[] server = [("network_transport", "udp"), ("server_port", port.ToString(CultureInfo.InvariantCulture))];
        PrometheusScrape scrape = await ServerProcesses.EventuallyAsync(
            async () => new PrometheusScrape(await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"), cancellationToken)),
            s => s.Value("udpsessions_forward_datagrams_total", [.. server, ("udpsessions_forward_direction", "to_client")]) == (double)sent,
            cancellationToken);
        Assert.Equal((double)sent, scrape.Value("udpsessions_forward_datagrams_total", [.. server, ("udpsessions_forward_direction", "to_upstream")]));
        Assert.Equal((double)sent, scrape.Value("udpsessions_datagrams_received_total", server));
        Assert.Equal(0d, scrape.Value("udpsessions_forward_dropped_total", [.. server, ("udpsessions_drop_cause", "no_upstream_socket")]));
        Assert.Equal(1d, scrape.Value("udpsessions_forward_upstream_healthy", [.. server, ("udpsessions_upstream", $"127.0.0.1:{echoPort}")]));
        Assert.Contains(" up/s=", forward.StandardOutput, StringComparison.Ordinal); // the rate line of every second

        forward.Interrupt();
        Assert.True(await forward.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken) == 0, forward.ToString());
        Assert.Contains("udps forward: stopped", forward.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"forwarded: to upstreams={sent}", forward.StandardOutput, StringComparison.Ordinal);
        echo.Interrupt();
        Assert.True(await echo.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken) == 0, echo.ToString());
    }

    [Theory(Timeout = 60_000)]
    [InlineData("--upstream", "127.0.0.1", "is not HOST:PORT")]
    [InlineData("--upstream", "127.0.0.1:53,weight=0", "weight=N")]
    [InlineData("--upstream", "no-such-host.invalid:53", "resolves")]
    public async Task A_bad_upstream_is_a_usage_error(string option, string value, string message)
    {
        (int exit, UdpsProcess run) = await UdpsProcess.RunAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken,
            "forward", "--listen", "127.0.0.1:0", option, value);
        using (run)
        {
            Assert.True(exit == 2, run.ToString());
            Assert.Contains(message, run.StandardError, StringComparison.Ordinal);
        }
    }
}
