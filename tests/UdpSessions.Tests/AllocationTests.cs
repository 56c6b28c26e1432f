using System.Net;

using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// The callback path must not allocate per datagram. Measured on the I/O thread itself
/// (GC.GetAllocatedBytesForCurrentThread), so the test's own client traffic does not count.
/// </summary>
public class AllocationTests
{
    [Theory]
    [InlineData(EpollMode.LevelTriggered)]
    [InlineData(EpollMode.EdgeTriggeredOneShot)]
    public async Task Steady_state_echo_allocates_nothing_on_the_io_thread(EpollMode mode)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the epoll engine needs Linux");
        const int Warmup = 2_000;
        const int Measured = 20_000;
        var handler = new AllocationProbe(Warmup, Warmup + Measured);
        await using SessionServer server = await SessionServer.StartAsync(
            new SessionServerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), IoThreads = 1, EpollMode = mode }, handler,
            cancellationToken: TestContext.Current.CancellationToken);

        AllocationWindow.EchoOverUdp(server, Warmup + Measured + 1);

        Assert.True(handler.Done, "the probe did not see every datagram");
        // One allocation per datagram would be >= 24 bytes x 20,000. A few dozen bytes once are the JIT's tiered PGO
        // instrumentation (gone with DOTNET_TieredPGO=0), not the datagram path.
        Assert.InRange(handler.AllocatedBytes, 0, Measured / 100);
    }
}
