using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Bulk;

/// <summary>
/// UDP_GRO on the sockets the epoll engine reads: a client sending runs with UDP_SEGMENT (on loopback the kernel hands
/// each run whole to a socket that asked for coalesced reads) is heard as the original datagrams, one OnDatagram each,
/// with their sizes, order and content; a datagram over MaxDatagramSize inside a coalesced read is dropped and counted
/// alone; the accounting identity counts datagrams, not reads.
/// </summary>
public class CoalescingTests
{
    // (datagrams, size) of each run, sent with one sendmsg each; the last datagram of a run is shorter.
    private static readonly (int Count, int Size)[] MixedRuns = [(40, 1200), (64, 100), (1, 50), (30, 1), (44, 1472), (7, 999), (2, 4096), (12, 4096)];

    public static TheoryData<TestEngine, bool> Cases
    {
        get
        {
            var data = new TheoryData<TestEngine, bool>();
            foreach (TestEngine engine in new[] { TestEngine.EpollAdaptive, TestEngine.EpollOwnSocket, TestEngine.EpollOwnSocketOneShot, TestEngine.EpollAddressMap })
            {
                data.Add(engine, true);
            }

            data.Add(TestEngine.EpollAdaptive, false);
            data.Add(TestEngine.EpollOwnSocket, false);
            return data;
        }
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Cases))]
    public async Task A_segmented_burst_arrives_as_its_datagrams(TestEngine engine, bool coalescing)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        SessionServerOptions options = TestEngines.Options(engine);
        options.ReceiveCoalescing = coalescing;
        await ReceiveMixedRunsAsync(options, coalescing, timeout.Token);
    }

    /// <summary>On a wildcard listener a coalesced read carries its destination (IP_PKTINFO) next to its segment size.</summary>
    [Theory(Timeout = 60_000)]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    public async Task A_segmented_burst_to_a_wildcard_listener_arrives_as_its_datagrams(string listenOn)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        await ReceiveMixedRunsAsync(TestEngines.Options(TestEngine.EpollOwnSocket, new IPEndPoint(IPAddress.Parse(listenOn), 0)), coalescing: true, timeout.Token);
    }

    private static async Task ReceiveMixedRunsAsync(SessionServerOptions options, bool coalescing, CancellationToken cancellationToken)
    {
        var handler = new OrderedRecorder();
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: cancellationToken);
        using var client = new SegmentingClient(new IPEndPoint(IPAddress.Loopback, server.LocalEndPoint.Port));

        var expected = new List<byte[]>();
        for (int run = 0; run < MixedRuns.Length; run++)
        {
            int[] lengths = BulkPayload.Lengths(MixedRuns[run].Count, MixedRuns[run].Size);
            client.SendRun(BulkPayload.Concatenated(run, lengths), MixedRuns[run].Size);
            expected.AddRange(lengths.Select((length, index) => BulkPayload.Datagram(run, index, length)));
        }

        ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, expected.Count);
        handler.AssertReceived(expected);
        Assert.Equal(0, stats.OversizedSegmentsDropped);
        if (coalescing)
        {
            Assert.True(stats.CoalescedReads >= 1, $"expected coalesced reads: {stats}");
            Assert.True(stats.CoalescedReads <= MixedRuns.Length, $"more coalesced reads than runs sent: {stats}");
        }
        else
        {
            Assert.Equal(0, stats.CoalescedReads);
        }
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.Epoll), MemberType = typeof(TestEngines))]
    public async Task A_datagram_over_the_maximum_inside_a_coalesced_read_is_dropped_alone(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        SessionServerOptions options = TestEngines.Options(engine);
        options.MaxDatagramSize = 1000;
        var handler = new OrderedRecorder();
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var client = new SegmentingClient(server.LocalEndPoint);

        // 10 × 1,200 bytes (over the maximum) and a last one of 800; then 5 × 500.
        int[] large = BulkPayload.Lengths(11, 1200);
        int[] small = BulkPayload.Lengths(5, 500);
        client.SendRun(BulkPayload.Concatenated(0, large), 1200);
        client.SendRun(BulkPayload.Concatenated(1, small), 500);

        ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, 16, (DropReason.Oversized, 10));
        handler.AssertReceived([BulkPayload.Datagram(0, 10, large[10]), .. small.Select((length, index) => BulkPayload.Datagram(1, index, length))]);
        Assert.Equal(10, stats.OversizedSegmentsDropped);
        Assert.True(stats.CoalescedReads >= 1, $"expected coalesced reads: {stats}");
    }

    /// <summary>Records every datagram of the (single) peer in delivery order.</summary>
    private sealed class OrderedRecorder : SessionHandler
    {
        private readonly List<byte[]> _datagrams = [];

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            lock (_datagrams)
            {
                _datagrams.Add(datagram.ToArray());
            }
        }

        public void AssertReceived(List<byte[]> expected)
        {
            lock (_datagrams)
            {
                Assert.Equal(expected.Count, _datagrams.Count);
                for (int i = 0; i < expected.Count; i++)
                {
                    Assert.True(expected[i].AsSpan().SequenceEqual(_datagrams[i]), $"datagram {i}: {_datagrams[i].Length} bytes, expected {expected[i].Length}");
                }
            }
        }
    }
}
