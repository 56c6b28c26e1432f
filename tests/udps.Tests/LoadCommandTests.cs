using System.Globalization;
using System.Text.Json;

namespace UdpSessions.Cli.Tests;

/// <summary><c>udps load</c> as users run it: its JSON, its exit status, its limits and its Ctrl+C.</summary>
public class LoadCommandTests
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);

    private static string[] Load(int port, params string[] more) =>
        ["load", "--port", port.ToString(CultureInfo.InvariantCulture), "--sessions", "8", "--window", "2", "--warmup", "0.2",
            "--duration", "1.5", "--timeout-ms", "300", .. more];

    [Fact(Timeout = 90_000)]
    public async Task Json_against_a_correct_echo_passes_with_exit_code_0()
    {
        await using SessionServer server = await LoadRuns.StartCorrectEchoAsync(TestContext.Current.CancellationToken);

        (int exit, UdpsProcess run) = await UdpsProcess.RunAsync(ProcessTimeout, TestContext.Current.CancellationToken, Load(server.LocalEndPoint.Port, "--json"));
        using (run)
        {
            Assert.True(exit == 0, run.ToString());
            using JsonDocument json = JsonDocument.Parse(run.StandardOutput);
            JsonElement root = json.RootElement;
            Assert.True(root.GetProperty("pass").GetBoolean());
            Assert.Equal(8, root.GetProperty("sessions").GetInt32());
            Assert.Equal(root.GetProperty("sent").GetInt64(), root.GetProperty("replies").GetInt64());
            foreach (string fault in (string[])["lost", "corrupt", "misrouted", "duplicates", "integrityErrors"])
            {
                Assert.Equal(0, root.GetProperty(fault).GetInt64());
            }

            Assert.True(root.GetProperty("repliesPerSecond").GetDouble() > 0);
            JsonElement latency = root.GetProperty("latencyMicros");
            Assert.True(latency.GetProperty("p50").GetInt64() <= latency.GetProperty("p99").GetInt64());
            Assert.True(latency.GetProperty("p99").GetInt64() <= latency.GetProperty("max").GetInt64());
            Assert.Equal(server.GetStatistics().DatagramsSent, root.GetProperty("replies").GetInt64());
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task Integrity_errors_fail_the_run_with_exit_code_1_and_the_json_counts_them()
    {
        FaultyEchoServer server;
        int exit;
        UdpsProcess run;
        using (server = new FaultyEchoServer(new FaultPlan { CorruptEvery = 89, DuplicateEvery = 83, SwapEvery = 79 }))
        {
            (exit, run) = await UdpsProcess.RunAsync(ProcessTimeout, TestContext.Current.CancellationToken, Load(server.EndPoint.Port, "--json"));
        }

        using (run)
        {
            Assert.True(exit == 1, run.ToString());
            using JsonDocument json = JsonDocument.Parse(run.StandardOutput);
            JsonElement root = json.RootElement;
            Assert.False(root.GetProperty("pass").GetBoolean());
            Assert.True(server.Corrupted > 0 && server.Duplicated > 0 && server.Misrouted > 0, run.ToString());
            Assert.Equal(server.Corrupted, root.GetProperty("corrupt").GetInt64());
            Assert.Equal(server.Duplicated, root.GetProperty("duplicates").GetInt64());
            Assert.Equal(server.Misrouted, root.GetProperty("misrouted").GetInt64());
            Assert.Equal(0, root.GetProperty("lost").GetInt64());
            Assert.Equal(server.Corrupted + server.Duplicated + server.Misrouted, root.GetProperty("integrityErrors").GetInt64());
        }
    }

    [Theory(Timeout = 90_000)]
    [InlineData(null, 1)]
    [InlineData("100", 0)]
    public async Task Loss_fails_the_run_only_above_the_threshold(string? maxLoss, int expectedExit)
    {
        FaultyEchoServer server;
        int exit;
        UdpsProcess run;
        using (server = new FaultyEchoServer(new FaultPlan { DropEvery = 50 }))
        {
            string[] arguments = maxLoss is null ? Load(server.EndPoint.Port) : Load(server.EndPoint.Port, "--max-loss", maxLoss);
            (exit, run) = await UdpsProcess.RunAsync(ProcessTimeout, TestContext.Current.CancellationToken, arguments);
        }

        using (run)
        {
            Assert.True(server.Dropped > 0, run.ToString());
            Assert.True(exit == expectedExit, $"exit {exit}: {run}");
            Assert.Contains(expectedExit == 0 ? "udps load: PASS" : "udps load: FAIL", run.StandardOutput);
            Assert.Contains("lost", run.StandardOutput); // the final table
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task More_sessions_than_the_fd_limit_allows_is_refused_with_exit_code_2()
    {
        (int exit, UdpsProcess run) = await UdpsProcess.RunAsync(ProcessTimeout, TestContext.Current.CancellationToken, "load", "--port", "9", "--sessions", "1000000");
        using (run)
        {
            Assert.True(exit == 2, run.ToString());
            Assert.Contains("file descriptors", run.StandardError);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task Bad_options_are_usage_errors_with_exit_code_2()
    {
        (int exit, UdpsProcess run) = await UdpsProcess.RunAsync(ProcessTimeout, TestContext.Current.CancellationToken, "load", "--port", "9", "--host", "not-an-address", "--size", "3");
        using (run)
        {
            Assert.True(exit == 2, run.ToString());
            Assert.Contains("--host", run.StandardError);
            Assert.Contains("--size", run.StandardError);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task Ctrl_C_stops_the_run_and_prints_what_was_measured()
    {
        await using SessionServer server = await LoadRuns.StartCorrectEchoAsync(TestContext.Current.CancellationToken);
        using UdpsProcess run = UdpsProcess.Start(
            "load", "--port", server.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture), "--sessions", "8", "--warmup", "0.2", "--duration", "600", "--json");

        // Interrupt once the measured phase is reported running, so there is something to print.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!run.StandardError.Contains("measuring", StringComparison.Ordinal))
        {
            await Task.Delay(50, deadline.Token);
        }

        run.Interrupt();
        int exit = await run.WaitAsync(ProcessTimeout, TestContext.Current.CancellationToken);

        Assert.True(exit == 130, run.ToString());
        using JsonDocument json = JsonDocument.Parse(run.StandardOutput);
        JsonElement root = json.RootElement;
        Assert.True(root.GetProperty("cancelled").GetBoolean());
        Assert.False(root.GetProperty("pass").GetBoolean());
        Assert.True(root.GetProperty("measuredReplies").GetInt64() > 0, run.ToString());
        Assert.Equal(0, root.GetProperty("lost").GetInt64());
        Assert.Contains("interrupted", run.StandardError);
    }
}
