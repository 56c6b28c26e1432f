using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// A peer that floods a slow handler must not grow the server's memory: the kernel's receive buffers are the only
/// queue, and what does not fit is dropped there (the audit measured 34 to 505 MB in 3 s when datagrams read on one
/// thread were copied into another's unbounded queue). Also the bound of the hand-over queue between threads.
/// </summary>
public class MemoryBoundTests
{
    private const int DatagramSize = 1_400;
    private static readonly TimeSpan FloodFor = TimeSpan.FromSeconds(3);

    [Theory(Timeout = 60_000)]
    [InlineData(TestEngine.EpollAddressMap)]
    [InlineData(TestEngine.EpollAdaptive)]
    [InlineData(TestEngine.EpollOwnSocket)]
    [InlineData(TestEngine.Portable)]
    public async Task A_flood_at_a_slow_handler_keeps_memory_flat(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(45, TestContext.Current.CancellationToken);
        var handler = new SlowHandler(TimeSpan.FromMicroseconds(50));
        SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        long rssBefore = ResidentBytes();
        long peakRss = rssBefore;
        try
        {
            Task<long> flood = FloodAsync(server.LocalEndPoint, FloodFor, timeout.Token);
            while (!flood.IsCompleted)
            {
                peakRss = Math.Max(peakRss, ResidentBytes());
                await Task.Delay(50, timeout.Token);
            }

            long sent = await flood;
            ServerStatistics stats = server.GetStatistics();
            Console.WriteLine($"[Memory {engine}] sent {sent}, RSS {rssBefore >> 20} -> peak {peakRss >> 20} MiB; {stats}");
            Assert.True(peakRss - rssBefore < 64 << 20, $"RSS grew by {(peakRss - rssBefore) >> 20} MiB under the flood ({stats})");
            Assert.True(stats.DatagramsDelivered > 0, "nothing was delivered");
        }
        finally
        {
            var stopping = Stopwatch.StartNew();
            await server.DisposeAsync();
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(3), $"StopAsync took {stopping.Elapsed.TotalSeconds:F1} s: it delivered a backlog first");
        }
    }

    /// <summary>
    /// The hand-over queue between I/O threads is bounded: a session homed on one thread whose peer the kernel moves to
    /// another thread's listener, flooding a slow handler, costs at most the queue's bytes; the rest is refused and
    /// counted (RedirectQueueFull), and the accounting identity holds.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task Hand_overs_between_threads_are_bounded_and_counted()
    {
        using CancellationTokenSource timeout = TestTimeout.After(45, TestContext.Current.CancellationToken);
        var handler = new SlowHandler(TimeSpan.FromMicroseconds(200));
        SessionServerOptions options = TestEngines.Options(TestEngine.EpollAddressMap);
        options.SteerAllToListenerForTests = 0;
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);

        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Connect(server.LocalEndPoint);
        peer.Send(new byte[DatagramSize]); // the session is homed on thread 0
        await ServerChecks.AccountedAsync(server, expectedReceived: 1);
        ((UdpSessions.Engines.Linux.EpollEngine)server.Implementation).Listeners.SteerAllTo(1); // from now on thread 1 reads the peer

        long rssBefore = ResidentBytes();
        long sent = 1 + await FloodAsync(peer, FloodFor, timeout.Token);
        long rssAfter = ResidentBytes();

        ServerStatistics stats = await ServerChecks.AccountedAsync(server, timeout: TimeSpan.FromSeconds(30));
        Console.WriteLine($"[Hand-over bound] sent {sent}, RSS {rssBefore >> 20} -> {rssAfter >> 20} MiB; {stats}; {ServerChecks.Drops(stats)}");
        Assert.True(stats.GetDropped(DropReason.RedirectQueueFull) > 0, $"the hand-over queue never filled: {stats}");
        Assert.True(rssAfter - rssBefore < 128 << 20, $"RSS grew by {(rssAfter - rssBefore) >> 20} MiB"); // unbounded, the flood would take ~800 MiB
        ServerChecks.DropsOnlyFor(stats, DropReason.RedirectQueueFull);
        Assert.Equal(stats.DatagramsRedirected, stats.DatagramsDelivered - 1 + stats.GetDropped(DropReason.RedirectQueueFull));
    }

    private static Task<long> FloodAsync(IPEndPoint target, TimeSpan duration, CancellationToken cancellationToken) =>
        Task.Run(() =>
        {
            using var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Connect(target);
            return Flood(socket, duration, cancellationToken);
        }, cancellationToken);

    private static Task<long> FloodAsync(Socket socket, TimeSpan duration, CancellationToken cancellationToken) =>
        Task.Run(() => Flood(socket, duration, cancellationToken), cancellationToken);

    private static long Flood(Socket socket, TimeSpan duration, CancellationToken cancellationToken)
    {
        byte[] datagram = new byte[DatagramSize];
        long sent = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration && !cancellationToken.IsCancellationRequested)
        {
            socket.Send(datagram);
            sent++;
        }

        return sent;
    }

    /// <summary>Resident set size of this process (/proc/self/statm).</summary>
    private static long ResidentBytes() =>
        long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;

    /// <summary>Spends a fixed time on every datagram, as a handler doing real work would.</summary>
    private sealed class SlowHandler(TimeSpan perDatagram) : SessionHandler
    {
        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            long until = Stopwatch.GetTimestamp() + (long)(perDatagram.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < until)
            {
            }
        }
    }
}
