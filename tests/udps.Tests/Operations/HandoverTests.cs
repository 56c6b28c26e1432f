using System.Net;
using System.Text.RegularExpressions;

namespace UdpSessions.Cli.Tests.Operations;

/// <summary>
/// Graceful restarts of <c>udps echo</c> as an operator runs them (docs/operations.md): the old process serves, a new one
/// started with the same <c>--handover-socket</c> takes its listening sockets, the old one drains and exits. Real
/// processes, real datagrams, 1,000 steady sessions plus churn, every reply verified and tagged with the process that
/// sent it.
/// </summary>
public partial class HandoverTests(ITestOutputHelper output)
{
    private const int SteadySessions = 1_000;
    private static readonly TimeSpan s_period = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_replyTimeout = TimeSpan.FromSeconds(2);

    [Fact(Timeout = 120_000)]
    public async Task A_new_process_takes_the_port_over_and_the_old_one_drains_with_nothing_lost_misrouted_or_duplicated()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        string path = HandoverPath();
        using UdpsProcess old = StartEcho(path, "A");
        TaggedTraffic traffic = await StartSteadyTrafficAsync(old, cancellationToken);
        traffic.StartChurn(workers: 8, datagrams: 4, pause: TimeSpan.FromMilliseconds(20));
        await Task.Delay(1_000, cancellationToken);

        long successorStarted = TaggedTraffic.Now;
        using UdpsProcess successor = StartEcho(path, "B");
        Assert.Equal(traffic.Target.Port, await successor.WaitForUdpPortAsync(cancellationToken));
        long tookOver = TaggedTraffic.Now;
        await Task.Delay(2_000, cancellationToken);
        await traffic.StopAsync();

        // The old process serves its sessions until they end (idle timeout 2 s), then exits by itself.
        int oldExit = await old.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        long oldExited = TaggedTraffic.Now;
        output.WriteLine(traffic.Describe());
        output.WriteLine(old.StandardOutput);
        HandoverFigures.Write("drain", traffic, successorStarted, tookOver, oldExited, Counter(old.StandardOutput, "handedOver"));
        Assert.True(oldExit == 0, old.ToString());
        Assert.Contains("drained and stopped", old.StandardOutput);

        Assert.True(traffic.Lost == 0 && traffic.Late == 0 && traffic.Misrouted == 0 && traffic.Duplicated == 0 && traffic.Corrupt == 0, traffic.Describe());
        Assert.All(traffic.Steady, flow => Assert.Equal("A", flow.Tags)); // every session that existed finished on the old process
        Assert.All(traffic.Churn, flow => Assert.Equal(1, flow.Tags.Length)); // no session changed process
        Assert.All(traffic.FreshChurn().Where(flow => flow.FirstSend > tookOver), flow => Assert.Equal("B", flow.Tags)); // new ones start on the new
        Assert.All(traffic.Churn.Where(flow => flow.Answers.Count > 0 && flow.Answers[0].Time < successorStarted), flow => Assert.Equal("A", flow.Tags));
        Assert.Contains(traffic.Churn, flow => flow.Tags == "B");

        // What the old process handed over (new peers read while its sessions got sockets of their own) the new one took over.
        long handedOver = Counter(old.StandardOutput, "handedOver");
        successor.Interrupt();
        Assert.Equal(0, await successor.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken));
        Assert.Equal(handedOver, Counter(successor.StandardOutput, "takenOver"));
        Assert.Equal(0, Counter(old.StandardOutput, "notKept"));
        Assert.True(Counter(old.StandardOutput, "keptOnOwnSocket") > 0, old.StandardOutput);
    }

    [Fact(Timeout = 120_000)]
    public async Task An_old_process_killed_after_the_handover_loses_what_its_sockets_held_and_its_peers_continue_on_the_new_one()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        string path = HandoverPath();
        using UdpsProcess old = StartEcho(path, "A");
        TaggedTraffic traffic = await StartSteadyTrafficAsync(old, cancellationToken);
        await Task.Delay(1_000, cancellationToken);

        long successorStarted = TaggedTraffic.Now;
        using UdpsProcess successor = StartEcho(path, "B");
        await successor.WaitForUdpPortAsync(cancellationToken);
        long tookOver = TaggedTraffic.Now;
        await Task.Delay(1_000, cancellationToken);
        old.KillHard();
        long killed = TaggedTraffic.Now;
        await old.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        await Task.Delay(3_000, cancellationToken);
        await traffic.StopAsync();
        output.WriteLine($"SIGKILL of the old process after the handover: {traffic.Describe()}");
        HandoverFigures.Write("sigkill", traffic, successorStarted, tookOver, killed, handedOver: 0);

        // Nothing is ever misrouted or duplicated; what the killed process's sockets held (at most one datagram per
        // session: one is in flight at a time) is lost, and every session goes on, as a new session, on the new process.
        Assert.True(traffic.Misrouted == 0 && traffic.Duplicated == 0 && traffic.Corrupt == 0, traffic.Describe());
        Assert.InRange(traffic.Lost, 0, SteadySessions);
        Assert.All(traffic.Steady, flow => Assert.Equal('B', flow.Answers[^1].Tag));
        Assert.All(traffic.Steady, flow => Assert.Contains(flow.Answers, answer => answer.Tag == 'A' && answer.Time < killed));
    }

    /// <summary>Waits for the first server to listen, then starts the steady sessions against it.</summary>
    private static async Task<TaggedTraffic> StartSteadyTrafficAsync(UdpsProcess server, CancellationToken cancellationToken)
    {
        int port = await server.WaitForUdpPortAsync(cancellationToken);
        var traffic = new TaggedTraffic(new IPEndPoint(IPAddress.Loopback, port), s_replyTimeout);
        await traffic.StartSteadyAsync(SteadySessions, s_period);
        return traffic;
    }

    private static UdpsProcess StartEcho(string handoverPath, string tag) => UdpsProcess.Start(
        "echo", "--host", "127.0.0.1", "--port", "0", "--quiet", "--handover-socket", handoverPath, "--tag", tag,
        "--idle-timeout-seconds", "2", "--drain-timeout-seconds", "30");

    private static string HandoverPath() => Path.Combine(Path.GetTempPath(), $"udps-handover-{Guid.NewGuid():N}.sock");

    private static long Counter(string statistics, string name) =>
        long.Parse(Regex.Match(statistics, $@"\b{name}=(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
}
