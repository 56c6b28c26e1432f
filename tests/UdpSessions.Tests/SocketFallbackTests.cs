using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// Sessions that cannot have a socket of their own (socket budget spent, or no fd left) are served through the
/// listener with the same API: nothing is lost, every reply reaches the right peer.
/// </summary>
public class SocketFallbackTests
{
    public static TheoryData<TestEngine, int> BudgetCases()
    {
        var data = new TheoryData<TestEngine, int>
        {
            { TestEngine.EpollOwnSocket, 10 },
            { TestEngine.EpollOwnSocketOneShot, 10 },
        };
        foreach (TestEngine engine in TestEngines.All)
        {
            data.Add(engine, 0); // every session through the listener
        }

        return data;
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(BudgetCases))]
    public async Task Sessions_beyond_the_socket_budget_are_served_through_the_listener(TestEngine engine, int budget)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 50;
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        options.SocketBudget = budget;
        var logs = new CapturingLoggerFactory();
        await using SessionServer server = await SessionServer.StartAsync(options, handler, logs, timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => DescribeState(server, handler, logs) };

        int sent = clients.EchoRounds(0, 3, Peers, timeout.Token);
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));

        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: sent);
        Assert.Equal(0, stats.DatagramsDropped);
        Assert.Equal(Peers, handler.Sessions.Count);
        Assert.Equal(budget, handler.Sessions.Values.Count(r => r.Session.HasOwnSocket));
        Assert.Equal(Peers - budget, handler.Sessions.Values.Count(r => !r.Session.HasOwnSocket));
        Assert.Equal(budget == 0 ? 0 : Peers - budget, stats.SessionsWithoutSocket); // a budget of 0 promises no session a socket
        Assert.All(handler.Sessions.Values, r => Assert.Equal(3, r.Datagrams));
    }

    public static TheoryData<TestEngine, string, string> ExhaustionCases()
    {
        var data = new TheoryData<TestEngine, string, string>();
        foreach (TestEngine engine in new[] { TestEngine.EpollOwnSocket, TestEngine.EpollOwnSocketOneShot })
        {
            data.Add(engine, "127.0.0.1", "127.0.0.1");
            data.Add(engine, "::", "127.0.0.1"); // dual-stack: v4-mapped session sockets, replies through the listener with IPV6_PKTINFO
            data.Add(engine, "::", "::1");
        }

        return data;
    }

    /// <summary>
    /// A real EMFILE: the soft RLIMIT_NOFILE is lowered so that only a few fds are left, then more peers arrive than
    /// there are fds. The client sockets are opened before the limit is lowered; the limit is restored in finally.
    /// The clients' sockets are connected to <paramref name="target"/>, so a reply from any other address would not
    /// even reach them.
    /// </summary>
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(ExhaustionCases))]
    public async Task When_fds_run_out_new_sessions_are_served_through_the_listener_and_nothing_is_lost(TestEngine engine, string listenOn, string target)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 120;
        const int FreeFds = 40;
        var handler = new RecordingHandler();
        var logs = new CapturingLoggerFactory();
        SessionServerOptions options = TestEngines.Options(engine, new IPEndPoint(IPAddress.Parse(listenOn), 0));
        await using SessionServer server = await SessionServer.StartAsync(options, handler, logs, timeout.Token);
        var targetEndPoint = new IPEndPoint(IPAddress.Parse(target), server.LocalEndPoint.Port);
        using var warmUp = new ClientGroup(targetEndPoint, 2, idBase: 10_000) { Diagnostics = () => DescribeState(server, handler, logs) };
        using var clients = new ClientGroup(targetEndPoint, Peers) { Diagnostics = () => DescribeState(server, handler, logs) };

        // Everything this test runs while fds are short has run once before (no assembly to open then).
        warmUp.EchoRounds(0, 1, 2, timeout.Token);
        _ = DescribeState(server, handler, logs);
        _ = handler.ByRemote();

        (ulong soft, ulong hard) = ProcessLimits.GetOpenFiles();
        ulong limit = ProcessLimits.SoftLimitLeaving(FreeFds);
        int sent;
        Exception? failure = null;
        ProcessLimits.SetOpenFilesSoft(limit);
        try
        {
            sent = clients.EchoRounds(0, 3, batchSize: 30, timeout.Token);
        }
        catch (Exception exception)
        {
            failure = exception;
            sent = 0;
        }
        finally
        {
            ProcessLimits.SetOpenFilesSoft(soft);
        }

        Assert.Equal((soft, hard), ProcessLimits.GetOpenFiles());
        if (failure is not null)
        {
            Assert.Fail($"echo failed while fds were short (soft limit {limit}): {failure.Message}");
        }

        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));
        int withSocket = handler.Sessions.Values.Count(r => r.Session.HasOwnSocket) - 2; // minus the warm-up peers
        int withoutSocket = handler.Sessions.Values.Count(r => !r.Session.HasOwnSocket);
        Console.WriteLine($"[fd exhaustion {engine} {listenOn}->{target}] soft limit {limit}: {withSocket} sessions got a socket, {withoutSocket} did not");
        Assert.True(withoutSocket > 0, $"every session got a socket although only {FreeFds} fds were free");
        Assert.True(withSocket > 0, "no session got a socket although fds were free");
        Assert.True(withSocket <= FreeFds, $"{withSocket} sessions got sockets with {FreeFds} fds free");
        Assert.Equal(Peers, withSocket + withoutSocket);

        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: sent + 2);
        Assert.Equal(0, stats.DatagramsDropped);
        Assert.Equal(withoutSocket, stats.SessionsWithoutSocket);
        Assert.Equal(0, handler.SendFailures);
        Dictionary<IPEndPoint, List<SessionRecord>> byRemote = handler.ByRemote();
        for (int i = 0; i < Peers; i++)
        {
            SessionRecord record = Assert.Single(byRemote[clients.LocalEndPoint(i)]);
            Assert.Equal([clients.ClientId(i)], record.ClientIds);
            Assert.Equal(3, record.Datagrams);
        }

        // With fds available again, the fallback sessions keep working and new sessions get sockets again.
        clients.EchoRounds(3, 1, Peers, timeout.Token);
        using var later = new ClientGroup(targetEndPoint, 5, idBase: 20_000) { Diagnostics = () => DescribeState(server, handler, logs) };
        later.EchoRounds(0, 2, 5, timeout.Token);
        Dictionary<IPEndPoint, List<SessionRecord>> all = handler.ByRemote();
        for (int i = 0; i < later.Count; i++)
        {
            Assert.True(Assert.Single(all[later.LocalEndPoint(i)]).Session.HasOwnSocket, "a session accepted after the fd shortage has no socket");
        }

        Assert.All(handler.Sessions.Values, r => Assert.Equal(targetEndPoint, Endpoints.Normalize(r.Session.LocalEndPoint)));
    }

    private static string DescribeState(SessionServer server, RecordingHandler handler, CapturingLoggerFactory logs) =>
        $"{server.GetStatistics()}; closed sessions: {string.Join("; ", handler.Sessions.Values.Where(r => r.ClosedWith is not null).Take(2))}; " +
        $"server log: {logs.Summary(2)}";
}
