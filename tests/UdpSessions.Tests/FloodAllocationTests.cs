using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// A flood datagram that gets no session (challenged by the cookie filter, or refused by the rate limits) costs the
/// I/O thread no allocation: measured on the I/O thread itself, from inside the accept filter, between two of its calls.
/// </summary>
public class FloodAllocationTests
{
    private const int Warmup = 500;
    private const int Measured = 2_000;

    [Theory(Timeout = 60_000)]
    [InlineData(TestEngine.EpollOwnSocket, true)]
    [InlineData(TestEngine.EpollOwnSocket, false)]
    [InlineData(TestEngine.Portable, true)]
    [InlineData(TestEngine.Portable, false)]
    public async Task Dropping_or_challenging_a_flood_datagram_allocates_nothing(TestEngine engine, bool challenge)
    {
        using CancellationTokenSource timeout = TestTimeout.After(45, TestContext.Current.CancellationToken);
        var probe = new ProbeFilter(challenge ? new CookieAcceptFilter(new StatelessCookie()) : null);
        SessionServerOptions options = TestEngines.Options(engine);
        options.IoThreads = 1;
        options.AcceptFilter = probe;
        options.MaxNewSessionsPerSecond = 1;
        options.MaxNewSessionsPerSecondPerSource = 1;
        await using SessionServer server = await SessionServer.StartAsync(options, new RecordingHandler { Echo = false }, cancellationToken: timeout.Token);

        int sent = await Task.Run(
            () => SourceFlood.Send(server.LocalEndPoint, Warmup + Measured + 1, i => SourceFlood.SourceAddress(i, firstOctet: 80), _ => new byte[32],
                () => server.GetStatistics().DatagramsReceived, timeout.Token),
            timeout.Token);
        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: sent);
        Assert.True(probe.AllocatedBytes >= 0, "the probe did not see every datagram");
        ServerChecks.DropsOnlyFor(stats, challenge ? [DropReason.Challenged] : [DropReason.NewSessionRateLimit, DropReason.SourceRateLimit]);
        Assert.InRange(stats.SessionsAccepted, 0, challenge ? 0 : 10);
        // One allocation per datagram would be >= 24 bytes x 2,000; a few dozen bytes once are tiered-JIT instrumentation.
        // Each session the rate limits let through (one a second) is a legitimate allocation on this thread, and on a slow
        // machine the flood takes long enough for some to fall inside the measured window: allow 2 KiB for each.
        Assert.InRange(probe.AllocatedBytes, 0, (Measured / 100) + (stats.SessionsAccepted * 2048));
    }

    private sealed class ProbeFilter(AcceptFilter? inner) : AcceptFilter
    {
        private int _calls;
        private long _start;

        public long AllocatedBytes { get; private set; } = -1;

        public override AcceptVerdict Evaluate(PeerEndPoint peer, ReadOnlySpan<byte> datagram, Span<byte> challenge, out int challengeLength)
        {
            if (_calls == Warmup)
            {
                _start = GC.GetAllocatedBytesForCurrentThread();
            }
            else if (_calls == Warmup + Measured)
            {
                AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - _start;
            }

            _calls++;
            challengeLength = 0;
            return inner?.Evaluate(peer, datagram, challenge, out challengeLength) ?? AcceptVerdict.Accept;
        }
    }
}
