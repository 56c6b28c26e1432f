using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// The accept filter runs on an unknown peer's first datagram before anything exists for it: a rejected or challenged
/// peer gets no session and no socket, its datagram is counted, and a challenge reaches the peer from the server's address.
/// </summary>
public class AcceptFilterTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Rejected_peers_get_nothing_and_accepted_ones_are_served(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        var filter = new OddClientsOnly();
        SessionServerOptions options = TestEngines.Options(engine);
        options.AcceptFilter = filter;
        await FileDescriptors.WarmUpAsync();
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, 10) { Diagnostics = () => server.GetStatistics().ToString() };
        int fdsBefore = FileDescriptors.Count();

        for (int i = 0; i < clients.Count; i++)
        {
            clients.SendSequence(i, 0);
        }

        for (int i = 1; i < clients.Count; i += 2)
        {
            clients.ExpectReply(i, ClientGroup.Payload(clients.ClientId(i), 0));
        }

        clients.AssertNothingPending(TimeSpan.FromMilliseconds(50)); // the even ones got nothing back
        ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, 10, (DropReason.AcceptFilterRejected, 5));
        Assert.Equal(5, stats.SessionsAccepted);
        Assert.Equal(0, stats.ChallengesSent);
        Assert.All(handler.Sessions.Values, r => Assert.Equal(1, r.ClientIds.Single() % 2));
        Assert.Equal(fdsBefore + (TestEngines.HasSessionSockets(engine) ? 5 : 0), FileDescriptors.Count());
        Assert.Equal(10, filter.Calls);

        // Established sessions do not pass the filter again: their datagrams are delivered whatever they hold.
        clients.Send(1, ClientGroup.Payload(0, 1));
        clients.ExpectReply(1, ClientGroup.Payload(0, 1));
        Assert.Equal(10, filter.Calls);

        // A peer whose session closed is unknown again and is judged again.
        SessionRecord closed = handler.SessionOf(clients.LocalEndPoint(3));
        closed.Session.Close();
        await closed.ClosedTask.WaitAsync(TimeSpan.FromSeconds(5), timeout.Token);
        clients.Send(3, ClientGroup.Payload(4, 2)); // an even client id: rejected now
        await ServerChecks.AccountedExactlyAsync(server, 12, (DropReason.AcceptFilterRejected, 6));
        Assert.Equal(11, filter.Calls);
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_throwing_filter_counts_the_datagram_as_rejected_and_the_server_keeps_serving(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        options.IoThreads = 1;
        options.AcceptFilter = new ThrowingForClientZero();
        var logs = new CapturingLoggerFactory();
        await using SessionServer server = await SessionServer.StartAsync(options, handler, logs, timeout.Token);
        using var poison = new ClientGroup(server.LocalEndPoint, 1, idBase: 0);
        using var clients = new ClientGroup(server.LocalEndPoint, 2, idBase: 1) { Diagnostics = () => server.GetStatistics().ToString() };

        // Client 0 gets no session, so each of its datagrams is judged again, and throws again.
        for (int sequence = 0; sequence < 4; sequence++)
        {
            poison.SendSequence(0, sequence);
        }

        clients.EchoRounds(5, 2, 2, timeout.Token);
        poison.AssertNothingPending(TimeSpan.FromMilliseconds(20));
        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: 2 + 6);
        Assert.Equal(4, stats.GetDropped(DropReason.AcceptFilterRejected));
        Assert.Equal(4, stats.HandlerErrors);
        Assert.Equal(2, stats.SessionsAccepted);
        Assert.Equal(4, stats.DatagramsDelivered);
        ServerChecks.DropsExactly(stats, (DropReason.AcceptFilterRejected, 4));
        Assert.Single(logs.Entries, e => e.Contains("accept filter threw", StringComparison.OrdinalIgnoreCase)); // logged once
    }

    /// <summary>
    /// The cookie handshake end to end, over IPv4 and a dual-stack listener: the challenge comes from the address the
    /// peer wrote to (the client sockets are connected to it, so nothing else would reach them), a replayed cookie of
    /// another peer is challenged again, and the proven peer is served.
    /// </summary>
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Cookie_filter_challenges_unproven_peers_and_accepts_proven_ones(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        // Dual-stack only on epoll: the portable engine's wildcard replies take whatever source address the route picks.
        foreach (string listenOn in TestEngines.HasSessionSockets(engine) ? new[] { "127.0.0.1", "::" } : ["127.0.0.1"])
        {
            var cookie = new StatelessCookie();
            var handler = new RecordingHandler();
            SessionServerOptions options = TestEngines.Options(engine, new IPEndPoint(IPAddress.Parse(listenOn), 0));
            options.AcceptFilter = new CookieAcceptFilter(cookie);
            await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
            var target = new IPEndPoint(IPAddress.Parse("127.0.0.2"), server.LocalEndPoint.Port);
            if (listenOn == "127.0.0.1")
            {
                target = server.LocalEndPoint;
            }

            using var clients = new ClientGroup(target, 3) { Diagnostics = () => server.GetStatistics().ToString() };

            // Too short to be answered without amplification: rejected, no reply.
            clients.Send(0, new byte[StatelessCookie.Length - 1]);

            int sent = FloodTests.EstablishWithCookies(clients, cookie, timeout.Token);
            clients.EchoRounds(1, 2, 3, timeout.Token);

            // Client 2 replays client 0's cookie from its own address after its session closed: not valid for it.
            byte[] foreign = new byte[StatelessCookie.Length + 8];
            cookie.Write(PeerEndPoint.FromIPEndPoint(clients.LocalEndPoint(0)), foreign);
            SessionRecord two = handler.SessionOf(clients.LocalEndPoint(2));
            two.Session.Close();
            await two.ClosedTask.WaitAsync(TimeSpan.FromSeconds(5), timeout.Token);
            clients.Send(2, foreign);
            byte[]? challenge = clients.TryReceive(2, clients.ReplyTimeout);
            Assert.NotNull(challenge);
            Assert.True(cookie.Validate(PeerEndPoint.FromIPEndPoint(clients.LocalEndPoint(2)), challenge));
            clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));

            ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, 1 + 3 + sent + 6 + 1,
                (DropReason.AcceptFilterRejected, 1), (DropReason.Challenged, 4));
            Assert.Equal(4, stats.ChallengesSent);
            Assert.Equal(3, stats.SessionsAccepted);
            Assert.All(handler.Sessions.Values, r => Assert.Equal(target, Endpoints.Normalize(r.Session.LocalEndPoint)));
        }
    }

    /// <summary>Accepts a first datagram only when its client id (first 4 bytes) is odd.</summary>
    private sealed class OddClientsOnly : AcceptFilter
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public override AcceptVerdict Evaluate(PeerEndPoint peer, ReadOnlySpan<byte> datagram, Span<byte> challenge, out int challengeLength)
        {
            Interlocked.Increment(ref _calls);
            challengeLength = 0;
            return datagram.Length >= 4 && (datagram[0] & 1) == 1 ? AcceptVerdict.Accept : AcceptVerdict.Reject;
        }
    }

    private sealed class ThrowingForClientZero : AcceptFilter
    {
        public override AcceptVerdict Evaluate(PeerEndPoint peer, ReadOnlySpan<byte> datagram, Span<byte> challenge, out int challengeLength)
        {
            challengeLength = 0;
            return datagram.Length >= 4 && datagram[0] == 0 && datagram[1] == 0 ? throw new InvalidOperationException("filter failed on purpose") : AcceptVerdict.Accept;
        }
    }
}
