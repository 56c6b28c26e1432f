using UdpSessions.Cli.Load;

namespace UdpSessions.Cli.Tests;

/// <summary>The generator must report exactly the faults a faulty echo commits, and none against a correct echo.</summary>
public class LoadClientFaultTests
{
    public static TheoryData<string> Plans => ["drop", "corrupt", "duplicate", "swap", "all"];

    [Fact(Timeout = 60_000)]
    public async Task A_correct_echo_shows_no_fault_and_every_request_answered()
    {
        CancellationToken token = TestContext.Current.CancellationToken;
        await using SessionServer server = await LoadRuns.StartCorrectEchoAsync(token);

        LoadResult r = await LoadRuns.RunAsync(LoadRuns.Options(server.LocalEndPoint), token);

        Assert.True(r.Sent > 0 && r.Failures == 0 && r.Late == 0, LoadRuns.Describe(r));
        Assert.Equal(r.Sent, r.Replies);
        Assert.Equal(8, r.SessionsAccepted);
        Assert.True(r.MeasuredReplies > 0 && r.Latency.TotalCount == r.MeasuredReplies, LoadRuns.Describe(r));
        Assert.Equal(r.Replies, server.GetStatistics().DatagramsSent);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Plans))]
    public async Task Each_fault_of_a_faulty_echo_is_reported_exactly_once(string faults)
    {
        CancellationToken token = TestContext.Current.CancellationToken;
        bool all = faults == "all";
        var plan = new FaultPlan
        {
            DropEvery = all || faults == "drop" ? 97 : 0,
            CorruptEvery = all || faults == "corrupt" ? 89 : 0,
            DuplicateEvery = all || faults == "duplicate" ? 83 : 0,
            SwapEvery = all || faults == "swap" ? 79 : 0,
        };
        LoadResult r;
        FaultyEchoServer server;
        using (server = new FaultyEchoServer(plan))
        {
            r = await LoadRuns.RunAsync(LoadRuns.Options(server.EndPoint), token);
        }

        string seen = $"generator: {LoadRuns.Describe(r)}; server: received={server.Received} dropped={server.Dropped} " +
            $"corrupted={server.Corrupted} duplicated={server.Duplicated} misrouted={server.Misrouted} holding={server.HoldingAtStop}";
        Assert.True(server.Received > plan.FirstFaulty + plan.FaultySpan, "the load ended before the faulty range did: " + seen);
        Assert.False(server.HoldingAtStop, seen);
        Assert.True(server.Dropped + server.Corrupted + server.Duplicated + server.Misrouted > 0, "no fault was committed: " + seen);
        Assert.True(server.Dropped == r.Lost, seen);
        Assert.True(server.Corrupted == r.Corrupt, seen);
        Assert.True(server.Duplicated == r.Duplicates, seen);
        Assert.True(server.Misrouted == r.Misrouted, seen);
        Assert.True(r.Late == 0, seen);

        // Every request is settled exactly once: answered, lost, answered damaged, or answered to another session.
        Assert.True(r.Sent == r.Replies + r.Lost + r.Corrupt + r.Misrouted, seen);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_damaged_header_cannot_name_its_request_so_it_is_corrupt_and_the_request_lost()
    {
        CancellationToken token = TestContext.Current.CancellationToken;
        var plan = new FaultPlan { CorruptEvery = 101, CorruptOffset = 6 }; // inside the sequence number
        LoadResult r;
        FaultyEchoServer server;
        using (server = new FaultyEchoServer(plan))
        {
            r = await LoadRuns.RunAsync(LoadRuns.Options(server.EndPoint), token);
        }

        string seen = $"generator: {LoadRuns.Describe(r)}; server corrupted={server.Corrupted} received={server.Received}";
        Assert.True(server.Corrupted > 0, seen);
        Assert.True(server.Corrupted == r.Corrupt, seen);
        Assert.True(server.Corrupted == r.Lost, seen);
        Assert.True(r.Duplicates == 0 && r.Misrouted == 0, seen);
    }

    [Fact(Timeout = 60_000)]
    public async Task Churn_replaces_sessions_and_every_new_session_is_accepted_by_a_correct_echo()
    {
        CancellationToken token = TestContext.Current.CancellationToken;
        await using SessionServer server = await LoadRuns.StartCorrectEchoAsync(token);
        LoadClientOptions options = LoadRuns.Options(server.LocalEndPoint);

        LoadResult r = await LoadRuns.RunAsync(new LoadClientOptions
        {
            Target = options.Target, Sessions = 16, Window = 1, Churn = 3, WarmUp = options.WarmUp, Duration = TimeSpan.FromSeconds(1),
            ReplyTimeout = options.ReplyTimeout, Threads = 2,
        }, token);

        string seen = LoadRuns.Describe(r) + "; server: " + server.GetStatistics();
        Assert.True(r.Failures == 0 && r.OpenErrors == 0, seen);
        Assert.True(r.SessionsOpened > 16, seen);
        Assert.True(r.SessionsAccepted == r.SessionsOpened, seen);
        Assert.True(r.MeasuredSessionsAccepted > 0 && r.SessionsAcceptedPerSecond > 0, seen);
        Assert.True(server.GetStatistics().SessionsAccepted == r.SessionsOpened, seen);

        // Each session sends exactly its quota: none more, and only the ones cut off by the end of sending send fewer.
        Assert.True(r.Sent <= 3 * r.SessionsOpened && r.Sent > 3 * (r.SessionsOpened - 16), seen);
    }

    [Fact(Timeout = 60_000)]
    public async Task Open_loop_sends_on_schedule_and_a_correct_echo_answers_everything()
    {
        CancellationToken token = TestContext.Current.CancellationToken;
        await using SessionServer server = await LoadRuns.StartCorrectEchoAsync(token);
        LoadClientOptions options = LoadRuns.Options(server.LocalEndPoint);

        LoadResult r = await LoadRuns.RunAsync(new LoadClientOptions
        {
            Target = options.Target, Sessions = 10, Rate = 2_000, WarmUp = TimeSpan.FromMilliseconds(200), Duration = TimeSpan.FromSeconds(1),
            ReplyTimeout = options.ReplyTimeout, Threads = 2,
        }, token);

        // The schedule is fixed in advance: 2,000/s over 1.2 s of sending is 2,400 requests, however the run was timed.
        Assert.True(r.Failures == 0 && r.Sent == r.Replies, LoadRuns.Describe(r));
        Assert.InRange(r.Sent, 2_398, 2_402);
        Assert.Equal(10, r.SessionsAccepted);
    }
}
