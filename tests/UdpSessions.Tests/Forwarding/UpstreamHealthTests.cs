using System.Text;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Forwarding;

/// <summary>
/// An upstream that dies (its port answers with ICMP) or stops answering becomes unhealthy: its clients move to the
/// others with their next datagram and nothing else is disturbed; active probes take an upstream out and bring it back.
/// </summary>
public class UpstreamHealthTests
{
    private const int Clients = 150;

    [Fact(Timeout = 60_000)]
    public async Task An_upstream_that_dies_with_ICMP_loses_its_clients_to_the_others_and_no_one_else_is_disturbed()
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        await using TestUpstream a = await TestUpstream.StartAsync("a", timeout.Token);
        await using TestUpstream b = await TestUpstream.StartAsync("b", timeout.Token);
        await using TestUpstream dying = await TestUpstream.StartAsync("dying", timeout.Token);
        var logs = new CapturingLoggerFactory();
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(Forwarders.Options(TestEngine.EpollAdaptive, a, b, dying), logs, timeout.Token);

        await MoveOffAsync(forwarder, [a, b], dying, kill: () => dying.CloseAsync(), timeout.Token);

        UpstreamStatistics dead = forwarder.GetStatistics().Upstreams.Single(u => u.EndPoint.Equals(dying.EndPoint));
        Assert.False(dead.IsHealthy);
        Assert.Equal(1, dead.GetHealthChanges(UpstreamHealthChange.IcmpUnreachable));
        Assert.Contains(logs.Entries, m => m.Contains($"Upstream {dying.EndPoint} is unhealthy (IcmpUnreachable)", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task An_upstream_that_stops_answering_loses_its_clients_after_the_window_and_no_one_else_is_disturbed()
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        await using TestUpstream a = await TestUpstream.StartAsync("a", timeout.Token);
        await using TestUpstream b = await TestUpstream.StartAsync("b", timeout.Token);
        await using TestUpstream mute = await TestUpstream.StartAsync("mute", timeout.Token);
        UdpForwarderOptions options = Forwarders.Options(TestEngine.EpollAdaptive, a, b, mute);
        options.Health.UnansweredWindow = TimeSpan.FromMilliseconds(300);
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);

        await MoveOffAsync(forwarder, [a, b], mute, kill: () => { mute.Silent = true; return ValueTask.CompletedTask; }, timeout.Token);

        UpstreamStatistics silent = forwarder.GetStatistics().Upstreams.Single(u => u.EndPoint.Equals(mute.EndPoint));
        Assert.False(silent.IsHealthy);
        Assert.Equal(1, silent.GetHealthChanges(UpstreamHealthChange.NoReply));
        Assert.All(forwarder.GetStatistics().Upstreams.Where(u => !u.EndPoint.Equals(mute.EndPoint)), u => Assert.True(u.IsHealthy));
    }

    [Fact(Timeout = 60_000)]
    public async Task Probes_take_an_upstream_that_answers_wrongly_out_and_bring_it_back_when_it_answers_again()
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        await using TestUpstream a = await TestUpstream.StartAsync("a", timeout.Token);
        await using TestUpstream flaky = await TestUpstream.StartAsync("flaky", timeout.Token);
        UdpForwarderOptions options = Forwarders.Options(TestEngine.EpollAdaptive, a, flaky);
        byte[] ping = Encoding.ASCII.GetBytes("ping-probe");
        options.Health.Probe = new UpstreamProbeOptions
        {
            Payload = ping,
            ExpectedReply = ping, // the echo's answer
            Interval = TimeSpan.FromMilliseconds(50),
            Timeout = TimeSpan.FromMilliseconds(40),
        };
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);
        UpstreamStatistics Flaky() => forwarder.GetStatistics().Upstreams.Single(u => u.EndPoint.Equals(flaky.EndPoint));

        await Task.Delay(200, timeout.Token);
        Assert.True(Flaky().IsHealthy);

        flaky.OversizedReplyBytes = 16; // a wrong reply comes first; the right one after it still counts as an answer
        await Task.Delay(200, timeout.Token);
        Assert.True(Flaky().IsHealthy);

        flaky.Silent = true;
        await Eventually.TrueAsync(() => !Flaky().IsHealthy, () => Forwarders.Describe(forwarder, a, flaky), cancellationToken: timeout.Token);
        Assert.Equal(1, Flaky().GetHealthChanges(UpstreamHealthChange.ProbeFailed));

        // Meanwhile new clients all go to the healthy one.
        using var clients = new ClientGroup(forwarder.LocalEndPoint, 40) { Diagnostics = () => Forwarders.Describe(forwarder, a, flaky) };
        clients.EchoRounds(0, 2, 40, timeout.Token);
        Assert.All(Enumerable.Range(0, 40).Select(clients.ClientId), id => Assert.False(flaky.DatagramsByClient.ContainsKey(id)));

        flaky.Silent = false;
        await Eventually.TrueAsync(() => Flaky().IsHealthy, () => Forwarders.Describe(forwarder, a, flaky), cancellationToken: timeout.Token);
        Assert.Equal(1, Flaky().GetHealthChanges(UpstreamHealthChange.ProbeAnswered));
        Assert.Equal(0, Flaky().GetHealthChanges(UpstreamHealthChange.RetryElapsed)); // with probes only a probe brings it back
    }

    /// <summary>
    /// Spreads <see cref="Clients"/> clients over the upstreams, breaks <paramref name="failing"/>, then has every client
    /// send again until answered: the failing upstream's clients must move (a datagram in flight when it failed may be
    /// lost and is sent again), everyone else must be answered at once by the upstream it had.
    /// </summary>
    private static async Task MoveOffAsync(UdpForwarder forwarder, TestUpstream[] healthy, TestUpstream failing, Func<ValueTask> kill, CancellationToken cancellationToken)
    {
        TestUpstream[] all = [.. healthy, failing];
        using var clients = new ClientGroup(forwarder.LocalEndPoint, Clients) { Diagnostics = () => Forwarders.Describe(forwarder, all) };
        clients.EchoRounds(0, 1, Clients, cancellationToken);
        Dictionary<int, TestUpstream> before = Enumerable.Range(0, Clients).Select(clients.ClientId)
            .ToDictionary(id => id, id => all.Single(u => u.DatagramsByClient.ContainsKey(id)));
        int onFailing = before.Values.Count(u => u == failing);
        Assert.True(onFailing > 10, $"only {onFailing} clients on {failing.Name}");

        await kill();
        for (int sequence = 1; sequence <= 3; sequence++)
        {
            for (int i = 0; i < Clients; i++)
            {
                int id = clients.ClientId(i);
                if (before[id] != failing)
                {
                    clients.SendSequence(i, sequence);
                    clients.ExpectReply(i, ClientGroup.Payload(id, sequence)); // undisturbed: answered the first time
                    continue;
                }

                bool answered = false;
                for (int attempt = 0; attempt < 20 && !answered; attempt++)
                {
                    clients.SendSequence(i, sequence);
                    answered = clients.TryReceive(i, TimeSpan.FromMilliseconds(100)) is { } reply && reply.AsSpan().SequenceEqual(ClientGroup.Payload(id, sequence));
                }

                Assert.True(answered, $"client {id} of {failing.Name} was never answered at sequence {sequence}. {Forwarders.Describe(forwarder, all)}");
            }
        }

        foreach ((int id, TestUpstream first) in before)
        {
            if (first != failing)
            {
                Assert.Equal(4, first.DatagramsByClient[id]);
                Assert.All(all.Where(u => u != first), u => Assert.False(u.DatagramsByClient.ContainsKey(id)));
            }
            else
            {
                Assert.Single(healthy, u => u.DatagramsByClient.ContainsKey(id)); // moved to exactly one other
            }
        }

        Assert.Equal(onFailing, forwarder.GetStatistics().SessionsMovedOffUnhealthy);
    }
}
