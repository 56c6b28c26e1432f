using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Forwarding;

/// <summary>
/// Bad input is dropped and counted and disturbs no one else: oversized datagrams either way, an upstream flooding a
/// client with replies, and the process running out of fds in the middle of a run.
/// </summary>
public class ForwarderBadInputTests
{
    [Theory(Timeout = 60_000)]
    [InlineData(TestEngine.EpollAdaptive)]
    [InlineData(TestEngine.Portable)]
    public async Task Oversized_datagrams_from_clients_and_from_upstreams_are_dropped_and_counted(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Clients = 20, MaxSize = 512;
        await using TestUpstream upstream = await TestUpstream.StartAsync("echo", timeout.Token, maxDatagramSize: 4096);
        upstream.OversizedReplyBytes = MaxSize + 1; // before every echo: a reply too large for the forwarder
        UdpForwarderOptions options = Forwarders.Options(engine, upstream);
        options.Server.MaxDatagramSize = MaxSize;
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(forwarder.LocalEndPoint, Clients) { Diagnostics = () => Forwarders.Describe(forwarder, upstream) };

        int sent = 0;
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < Clients; i++)
            {
                clients.Send(i, new byte[MaxSize + 100]); // dropped by the client side, never forwarded
            }

            sent += clients.EchoRounds(round, 1, Clients, timeout.Token);
        }

        clients.AssertNothingPending(TimeSpan.FromMilliseconds(50));
        ForwarderStatistics stats = await Forwarders.AccountedAsync(forwarder, sent);
        Assert.Equal(3 * Clients, stats.Server.GetDropped(DropReason.Oversized));
        Assert.Equal(sent, stats.GetDropped(ForwardDropReason.ResponseOversized));
        Assert.Equal(sent, stats.ResponsesForwarded);
        Assert.Equal(sent, upstream.DatagramsByClient.Values.Sum());
    }

    [Fact(Timeout = 60_000)]
    public async Task An_upstream_flooding_one_client_is_cut_to_one_reply_per_request_and_the_others_lose_nothing()
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        const int Clients = 50;
        await using TestUpstream upstream = await TestUpstream.StartAsync("flooder", timeout.Token);
        UdpForwarderOptions options = Forwarders.Options(TestEngine.EpollAdaptive, upstream);
        options.ResponsesPerRequest = 1;
        options.Server.IoThreads = 1; // the flood and everyone else on one thread: the flood must not starve them
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);
        using var victim = new ClientGroup(forwarder.LocalEndPoint, 1, idBase: 999);
        using var others = new ClientGroup(forwarder.LocalEndPoint, Clients) { Diagnostics = () => Forwarders.Describe(forwarder, upstream) };
        upstream.FloodClientId = victim.ClientId(0);
        upstream.FloodCount = 5_000;

        int sent = 0;
        for (int round = 0; round < 5; round++)
        {
            victim.SendSequence(0, round);
            victim.ExpectReply(0, ClientGroup.Payload(victim.ClientId(0), round));
            sent += 1 + others.EchoRounds(round, 1, Clients, timeout.Token);
        }

        victim.AssertNothingPending(TimeSpan.FromMilliseconds(100)); // one reply per request, never the flood
        others.AssertNothingPending(TimeSpan.Zero);
        ForwarderStatistics stats = await Forwarders.AccountedAsync(forwarder, sent);
        Assert.Equal(sent, stats.ResponsesForwarded);
        Assert.Equal(5 + (5 * Clients), stats.SessionsCompleted); // every session closed once answered (DNS style)
        TestTimeout.Log($"flood: unexpected={stats.GetDropped(ForwardDropReason.UnexpectedResponse)} afterClose={stats.GetDropped(ForwardDropReason.ResponseAfterClose)} received={stats.ResponsesReceived}");
    }

    [Fact(Timeout = 90_000)]
    public async Task Running_out_of_fds_mid_run_holds_new_sessions_until_fds_are_free_and_disturbs_no_established_one()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "RLIMIT_NOFILE is Linux's");
        using CancellationTokenSource timeout = TestTimeout.After(60, TestContext.Current.CancellationToken);
        const int Established = 100, Newcomers = 40, Late = 40;
        await using TestUpstream upstream = await TestUpstream.StartAsync("echo", timeout.Token);
        UdpForwarderOptions options = Forwarders.Options(TestEngine.EpollAddressMap, upstream);
        options.UpstreamSocketWait = TimeSpan.FromSeconds(20);
        var logs = new CapturingLoggerFactory();
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, logs, timeout.Token);
        using var established = new ClientGroup(forwarder.LocalEndPoint, Established) { Diagnostics = () => Forwarders.Describe(forwarder, upstream) };
        using var newcomers = new ClientGroup(forwarder.LocalEndPoint, Newcomers, idBase: 1_000) { Diagnostics = established.Diagnostics };
        using var late = new ClientGroup(forwarder.LocalEndPoint, Late, idBase: 2_000) { Diagnostics = established.Diagnostics };
        int sent = established.EchoRounds(0, 2, Established, timeout.Token);

        (ulong soft, _) = ProcessLimits.GetOpenFiles();
        ForwarderStatistics stats;
        try
        {
            // No fd left: the newcomers' upstream sockets cannot be made, their first datagrams wait.
            ProcessLimits.SetOpenFilesSoft(ProcessLimits.SoftLimitLeaving(0));
            for (int i = 0; i < Newcomers; i++)
            {
                newcomers.SendSequence(i, 0);
            }

            sent += Newcomers;
            Eventually.True(() => forwarder.GetStatistics().DatagramsWaitingForSocket == Newcomers, () => Forwarders.Describe(forwarder, upstream));
            sent += established.EchoRounds(2, 2, Established, timeout.Token); // established sessions: undisturbed
            Assert.All(Enumerable.Range(0, Newcomers), i => Assert.Null(newcomers.TryReceive(i, TimeSpan.Zero)));
        }
        finally
        {
            ProcessLimits.SetOpenFilesSoft(soft);
        }

        // Fds again: every held datagram goes out, in order, and is answered.
        for (int i = 0; i < Newcomers; i++)
        {
            newcomers.ExpectReply(i, ClientGroup.Payload(newcomers.ClientId(i), 0));
        }

        sent += late.EchoRounds(0, 1, Late, timeout.Token);
        stats = await Forwarders.AccountedAsync(forwarder, sent);
        Assert.Equal(0, stats.DatagramsDropped);
        Assert.Equal(Newcomers, stats.DatagramsHeldForSocket);
        Assert.Contains(logs.Entries, m => m.Contains("No fd for an upstream socket", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task Beyond_the_upstream_socket_budget_datagrams_wait_then_are_dropped_and_counted()
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        await using TestUpstream upstream = await TestUpstream.StartAsync("echo", timeout.Token);
        UdpForwarderOptions options = Forwarders.Options(TestEngine.EpollAdaptive, upstream);
        options.MaxUpstreamSockets = 10;
        options.UpstreamSocketWait = TimeSpan.FromMilliseconds(200);
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);
        using var first = new ClientGroup(forwarder.LocalEndPoint, 10) { Diagnostics = () => Forwarders.Describe(forwarder, upstream) };
        using var beyond = new ClientGroup(forwarder.LocalEndPoint, 5, idBase: 100) { Diagnostics = first.Diagnostics };
        int sent = first.EchoRounds(0, 1, 10, timeout.Token);

        for (int i = 0; i < 5; i++)
        {
            beyond.SendSequence(i, 0);
        }

        sent += 5;
        ForwarderStatistics stats = await Forwarders.AccountedAsync(forwarder, sent);
        await Eventually.TrueAsync(() => forwarder.GetStatistics().GetDropped(ForwardDropReason.NoUpstreamSocket) == 5,
            () => Forwarders.Describe(forwarder, upstream), cancellationToken: timeout.Token);
        Assert.Equal(10, forwarder.GetStatistics().UpstreamSessionsActive);
        sent += first.EchoRounds(1, 1, 10, timeout.Token); // the ten with sockets: unaffected
        Assert.Equal(0, (await Forwarders.AccountedAsync(forwarder, sent)).DatagramsWaitingForSocket);
    }
}
