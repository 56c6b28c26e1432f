using System.Diagnostics;
using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// Thousands of one-datagram sources (each its own 127.a.b.c host) while established peers keep talking: sessions, fds
/// and managed memory stay within the configured bounds, every flood datagram is counted with its cause, and the
/// established sessions lose nothing.
/// </summary>
public class FloodTests
{
    private const int EstablishedPeers = 20;
    private const int FloodSources = 4_000;

    public enum Defense
    {
        /// <summary>MaxSessions: the flood fills the server up to it, the rest is dropped as SessionLimit.</summary>
        SessionLimit,

        /// <summary>MaxNewSessionsPerSecond: at most burst + rate x duration flood sessions.</summary>
        NewSessionRate,

        /// <summary>A cookie accept filter: no flood source proves its address, none gets a session or a socket.</summary>
        CookieFilter,
    }

    public static TheoryData<TestEngine, Defense, bool> Cases()
    {
        var data = new TheoryData<TestEngine, Defense, bool>();
        foreach (TestEngine engine in Enum.GetValues<TestEngine>())
        {
            foreach (Defense defense in Enum.GetValues<Defense>())
            {
                data.Add(engine, defense, false);
            }
        }

        // Established sessions served through the listener (socket budget 0) share it with the flood.
        data.Add(TestEngine.EpollOwnSocket, Defense.NewSessionRate, true);
        data.Add(TestEngine.EpollOwnSocketOneShot, Defense.CookieFilter, true);
        return data;
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Cases))]
    public async Task A_flood_of_new_sources_stays_within_the_limits_and_established_sessions_lose_nothing(TestEngine engine, Defense defense, bool throughListener)
    {
        using CancellationTokenSource timeout = TestTimeout.After(90, TestContext.Current.CancellationToken);
        const int MaxSessions = 120;
        const int Rate = 20;
        // Flood sources are gone once they sent (an echo would come back as ICMP unreachable and close their sessions,
        // which makes room for more): only the established peers are answered.
        var handler = new RecordingHandler { EchoFor = IsOn127_0 };
        SessionServerOptions options = TestEngines.Options(engine);
        options.SocketBudget = throughListener ? 0 : null;
        var cookie = new StatelessCookie();
        switch (defense)
        {
            case Defense.SessionLimit:
                options.MaxSessions = MaxSessions;
                break;
            case Defense.NewSessionRate:
                options.MaxNewSessionsPerSecond = Rate;
                break;
            case Defense.CookieFilter:
                options.AcceptFilter = new CookieAcceptFilter(cookie);
                break;
        }

        await FileDescriptors.WarmUpAsync();
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var established = new ClientGroup(server.LocalEndPoint, EstablishedPeers) { Diagnostics = () => server.GetStatistics().ToString() };
        int establishedSent;
        if (defense == Defense.CookieFilter)
        {
            establishedSent = EstablishWithCookies(established, cookie, timeout.Token);
        }
        else
        {
            // Within the rate limit's burst, so all of them are accepted at once.
            establishedSent = established.EchoRounds(0, 1, EstablishedPeers, timeout.Token);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        int fdsBefore = FileDescriptors.Count();
        int maxFloodSessions = defense switch
        {
            Defense.SessionLimit => MaxSessions - EstablishedPeers,
            Defense.CookieFilter => 0,
            _ => int.MaxValue, // bounded by time below
        };
        int peakSessions = 0, peakFds = 0;

        using var background = new BackgroundEcho(established, 1, timeout.Token);

        var clock = Stopwatch.StartNew();
        int floodSent, backgroundSent, rounds;
        try
        {
            // Each flood datagram is as long as a cookie, so the cookie filter may answer it (no amplification).
            floodSent = await Task.Run(
                () => SourceFlood.Send(server.LocalEndPoint, FloodSources, i => SourceFlood.SourceAddress(i), i => ClientGroup.Payload(1_000_000 + i, 0)[..8].Concat(new byte[16]).ToArray(),
                    () => server.GetStatistics().DatagramsReceived, timeout.Token, onPace: () =>
                    {
                        peakSessions = Math.Max(peakSessions, server.GetStatistics().ActiveSessions);
                        peakFds = Math.Max(peakFds, FileDescriptors.Count());
                    }),
                timeout.Token);
        }
        finally
        {
            (backgroundSent, rounds) = await background.StopAsync(timeout.Token);
        }

        double floodSeconds = clock.Elapsed.TotalSeconds;
        establishedSent += backgroundSent;
        established.AssertNothingPending(TimeSpan.FromMilliseconds(50));

        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: establishedSent + floodSent + (defense == Defense.CookieFilter ? EstablishedPeers : 0));
        long floodSessions = stats.SessionsAccepted - EstablishedPeers;
        long floodDropped = floodSent - floodSessions;
        TestTimeout.Log($"{engine} {defense} throughListener={throughListener}: {stats}; drops {ServerChecks.Drops(stats)}; flood {floodSeconds:F2} s, established rounds meanwhile {rounds}; peak sessions {peakSessions}, peak fds {peakFds} (before {fdsBefore})");

        // Established sessions lost nothing (EchoRounds checked every reply) and were served during the flood.
        Assert.True(rounds > 0, "the established peers never completed a round during the flood");
        Assert.All(handler.Sessions.Values.Where(r => r.Session.RemoteEndPoint.Address.Equals(IPAddress.Loopback)), r => Assert.True(r.Session.IsOpen));
        Assert.Equal(EstablishedPeers, handler.Sessions.Values.Count(r => r.Session.RemoteEndPoint.Address.Equals(IPAddress.Loopback)));
        // Adaptive placement may promote the busy established sessions, never a flood source (one datagram each).
        bool adaptive = engine == TestEngine.EpollAdaptive && !throughListener;
        Assert.All(handler.Sessions.Values.Where(r => !adaptive || !r.Session.RemoteEndPoint.Address.Equals(IPAddress.Loopback)),
            r => Assert.Equal(TestEngines.HasSessionSockets(engine) && !throughListener, r.Session.HasOwnSocket));

        // Every flood datagram is delivered (its source got a session) or dropped for the defense's cause alone.
        Assert.Equal(establishedSent + floodSessions, stats.DatagramsDelivered);
        switch (defense)
        {
            case Defense.SessionLimit:
                Assert.Equal(MaxSessions, stats.ActiveSessions);
                ServerChecks.DropsExactly(stats, (DropReason.SessionLimit, floodDropped));
                break;
            case Defense.NewSessionRate:
                // The bucket cannot hand out more than its burst plus the rate over the time it ran (+1 s of rounding).
                double bound = Rate + (Rate * (floodSeconds + 1));
                Assert.InRange(floodSessions, 0, (long)bound); // 0 when the flood was over before a token came back
                ServerChecks.DropsExactly(stats, (DropReason.NewSessionRateLimit, floodDropped));
                break;
            case Defense.CookieFilter:
                Assert.Equal(0, floodSessions);
                ServerChecks.DropsExactly(stats, (DropReason.Challenged, floodSent + EstablishedPeers));
                Assert.Equal(floodSent + EstablishedPeers, stats.ChallengesSent + stats.ChallengesNotSent);
                break;
        }

        // Sessions and fds never exceeded the bound: one socket per session at most, plus one flood client socket.
        int sessionBound = defense == Defense.NewSessionRate ? (int)floodSessions + EstablishedPeers : maxFloodSessions + EstablishedPeers;
        Assert.InRange(peakSessions, 0, sessionBound);
        int fdBound = fdsBefore + (TestEngines.HasSessionSockets(engine) && !throughListener ? sessionBound - EstablishedPeers : 0) + (adaptive ? EstablishedPeers : 0) + 1;
        Assert.InRange(peakFds, 0, fdBound);
        Assert.InRange(FileDescriptors.Count(), 0, fdBound);

        // Managed memory: what the accepted sessions hold, nothing per dropped datagram (4,000 retained entries of even
        // 100 bytes would show). 2 KiB per accepted session is generous for a Session, its record and its map entries.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long heapGrowth = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        long heapBound = (256 * 1024) + (floodSessions * 2048);
        Assert.True(heapGrowth < heapBound, $"managed heap grew by {heapGrowth} bytes for {floodSessions} flood sessions (bound {heapBound})");
    }

    /// <summary>
    /// The per-source limit with /24 prefixes: 3 networks each flood from many hosts and ports; each network gets at
    /// most its own rate of sessions, a host of a fourth network is still accepted at once, and the table stays fixed.
    /// </summary>
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task The_per_source_limit_counts_a_prefix_as_one_source_and_spares_other_sources(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(45, TestContext.Current.CancellationToken);
        const int PerSource = 5;
        const int Networks = 3;
        const int PerNetwork = 400;
        var handler = new RecordingHandler { EchoFor = IsOn127_0 };
        SessionServerOptions options = TestEngines.Options(engine);
        options.MaxNewSessionsPerSecondPerSource = PerSource;
        options.SourcePrefixLengthIPv4 = 24;
        options.SourceTableSize = 1024;
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);

        var clock = Stopwatch.StartNew();
        // Source i of network n: host 127.50+n.7.(1 + i % 200), so each network sends from 200 hosts and many ports.
        int sent = await Task.Run(
            () => SourceFlood.Send(server.LocalEndPoint, Networks * PerNetwork,
                i => new IPAddress([127, (byte)(50 + (i % Networks)), 7, (byte)(1 + (i / Networks % 200))]),
                i => ClientGroup.Payload(2_000_000 + i, 0), () => server.GetStatistics().DatagramsReceived, timeout.Token),
            timeout.Token);
        double seconds = clock.Elapsed.TotalSeconds;

        // A host of another network is not held back by the flooding ones.
        using var newcomer = new ClientGroup(new IPEndPoint(IPAddress.Loopback, server.LocalEndPoint.Port), 1, idBase: 9);
        newcomer.EchoRounds(0, 1, 1, timeout.Token);

        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: sent + 1);
        long floodSessions = stats.SessionsAccepted - 1;
        ServerChecks.DropsExactly(stats, (DropReason.SourceRateLimit, sent - floodSessions));
        foreach (IGrouping<byte, SessionRecord> network in handler.Sessions.Values.GroupBy(r => r.Session.RemoteEndPoint.Address.GetAddressBytes()[1]).Where(g => g.Key != 0))
        {
            double bound = PerSource + (PerSource * (seconds + 1));
            Assert.InRange(network.Count(), 1, (int)bound);
        }

        Assert.True(floodSessions >= Networks, $"each network should have had its burst accepted: {stats}");
    }

    /// <summary>
    /// Flood sources that are gone by the time their echo goes out: ICMP port unreachable closes their sessions
    /// (PeerUnreachable) while new ones keep arriving. Every datagram is still read and accounted for, and the
    /// established sessions lose nothing.
    /// </summary>
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.OwnSocket), MemberType = typeof(TestEngines))]
    public async Task Vanishing_sources_are_closed_as_unreachable_and_every_datagram_is_counted(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(45, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using var established = new ClientGroup(server.LocalEndPoint, EstablishedPeers) { Diagnostics = () => server.GetStatistics().ToString() };
        int establishedSent = established.EchoRounds(0, 1, EstablishedPeers, timeout.Token);
        using var background = new BackgroundEcho(established, 1, timeout.Token);
        KernelUdpCounters kernelBefore = KernelUdpCounters.Read();
        int floodSent;
        try
        {
            floodSent = await Task.Run(
                () => SourceFlood.Send(server.LocalEndPoint, FloodSources, i => SourceFlood.SourceAddress(i, firstOctet: 60), i => ClientGroup.Payload(3_000_000 + i, 0),
                    () => server.GetStatistics().DatagramsReceived, timeout.Token),
                timeout.Token);
        }
        finally
        {
            establishedSent += (await background.StopAsync(timeout.Token)).Sent;
        }


        // Exact accounting: every datagram sent was read by a socket of the server, unless the kernel counted a drop.
        // Its counters are system-wide (other tests run meanwhile), so its drops bound what may be missing here; with
        // none, nothing may be. (Datagrams the kernel queued on a closed session's socket after its drain are caught
        // by the last read before close(): LateAfterClose.)
        long sent = establishedSent + floodSent;
        long KernelDrops()
        {
            KernelUdpCounters delta = KernelUdpCounters.Read() - kernelBefore;
            return delta.InErrors + delta.Udp6RcvbufErrors;
        }

        await Eventually.TrueAsync(() => server.GetStatistics().DatagramsReceived + KernelDrops() >= sent,
            () => $"{server.GetStatistics()}; kernel drops {KernelDrops()}; sent {sent}; sockets of the port (still queued?): " +
                KernelUdpCounters.DropsOnLocalPort(server.LocalEndPoint.Port).Sockets,
            cancellationToken: timeout.Token);
        ServerStatistics stats = await ServerChecks.AccountedAsync(server);
        await Task.Delay(200, timeout.Token);
        stats = await ServerChecks.AccountedAsync(server);
        long unread = sent - stats.DatagramsReceived;
        long kernelDrops = KernelDrops();
        TestTimeout.Log($"{engine}: {stats}; unreachable closes {stats.GetClosed(SessionCloseReason.PeerUnreachable)}; never read: {unread}");
        Console.WriteLine($"[Vanishing sources {engine}] never read by the server: {unread} of {sent}; kernel-counted UDP drops (system-wide): {kernelDrops}; " +
            $"caught after close: {stats.LateAfterClose}; strays: {stats.StraysRerouted}");
        Assert.InRange(unread, 0, kernelDrops);
        ServerChecks.DropsExactly(stats);
        Assert.Equal(stats.DatagramsReceived, stats.DatagramsDelivered);
        Assert.InRange(stats.SessionsAccepted, EstablishedPeers + FloodSources - unread, EstablishedPeers + FloodSources);
        Assert.Equal(EstablishedPeers, handler.Sessions.Values.Count(r => IsOn127_0(r.Session) && r.Session.IsOpen));
    }

    /// <summary>The established peers and newcomers live in 127.0/16, the flood sources elsewhere in 127/8.</summary>
    private static bool IsOn127_0(Session session) => session.RemoteEndPoint.Address.GetAddressBytes()[1] == 0;

    /// <summary>The cookie handshake for every established peer: hello, cookie back, hello again with the cookie. Returns datagrams sent.</summary>
    internal static int EstablishWithCookies(ClientGroup clients, StatelessCookie cookie, CancellationToken cancellationToken)
    {
        int sent = 0;
        for (int i = 0; i < clients.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            byte[] hello = ClientGroup.Payload(clients.ClientId(i), 0);
            byte[] padded = [.. hello, .. new byte[StatelessCookie.Length]];
            clients.Send(i, padded);
            byte[]? challenge = clients.TryReceive(i, clients.ReplyTimeout);
            Assert.NotNull(challenge);
            Assert.Equal(StatelessCookie.Length, challenge.Length);
            Assert.True(cookie.Validate(PeerEndPoint.FromIPEndPoint(clients.LocalEndPoint(i)), challenge), "the challenge is not a cookie for this peer");
            byte[] proven = [.. challenge, .. hello];
            clients.Send(i, proven);
            clients.ExpectReply(i, proven);
            sent += 1; // the proven one; the first is counted by the caller as challenged
        }

        return sent;
    }
}
