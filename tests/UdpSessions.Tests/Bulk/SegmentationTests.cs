using System.Net;
using System.Net.Sockets;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Bulk;

/// <summary>
/// <see cref="Session.SendBatch"/>: a run of 1 to 64 datagrams of 1 byte to MaxDatagramSize (the last one shorter)
/// arrives as exactly those datagrams, in order, whether the kernel cut them from one UDP_SEGMENT buffer, segmentation
/// is turned off, or the kernel refuses it (checksums off on the server's sockets: EINVAL) and the engine falls back
/// to separate datagrams, from a callback (the I/O thread's batch) or from another thread (a direct sendmsg).
/// </summary>
public class SegmentationTests
{
    public enum Mode
    {
        Offloaded,
        TurnedOff,
        RefusedByKernel,
    }

    // (datagrams, size): 4096 is the default MaxDatagramSize; 64 × 1,232 and 64 × 4,096 need more than one UDP_SEGMENT send.
    private static readonly (int Count, int Size)[] Runs =
        [(1, 1), (2, 1), (64, 1), (3, 100), (64, 1200), (17, 1472), (5, 4096), (16, 4096), (64, 999), (63, 1232), (64, 1232), (2, 4096)];

    public static TheoryData<TestEngine, Mode, bool> Cases
    {
        get
        {
            var data = new TheoryData<TestEngine, Mode, bool>();
            foreach (bool fromCallback in new[] { true, false })
            {
                foreach (TestEngine engine in Enum.GetValues<TestEngine>())
                {
                    data.Add(engine, Mode.Offloaded, fromCallback);
                }

                foreach (TestEngine engine in new[] { TestEngine.EpollAdaptive, TestEngine.EpollOwnSocket })
                {
                    data.Add(engine, Mode.TurnedOff, fromCallback);
                    data.Add(engine, Mode.RefusedByKernel, fromCallback);
                }
            }

            return data;
        }
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Cases))]
    public async Task A_batch_arrives_as_exactly_its_datagrams_in_order(TestEngine engine, Mode mode, bool fromCallback)
    {
        using CancellationTokenSource timeout = TestTimeout.After(60, TestContext.Current.CancellationToken);
        SessionServerOptions options = TestEngines.Options(engine);
        options.SendSegmentation = mode != Mode.TurnedOff;
        options.RefuseSegmentationForTests = mode == Mode.RefusedByKernel;
        await RunBatchesAsync(options, engine != TestEngine.Portable ? mode : null, fromCallback, timeout.Token);
    }

    /// <summary>On a wildcard listener each message carries its source (IP_PKTINFO) and its segment size together.</summary>
    [Theory(Timeout = 120_000)]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    public async Task A_batch_from_a_wildcard_listener_comes_from_the_address_the_peer_wrote_to(string listenOn)
    {
        using CancellationTokenSource timeout = TestTimeout.After(60, TestContext.Current.CancellationToken);
        SessionServerOptions options = TestEngines.Options(TestEngine.EpollOwnSocket, new IPEndPoint(IPAddress.Parse(listenOn), 0));
        await RunBatchesAsync(options, Mode.Offloaded, fromCallback: true, timeout.Token);
    }

    /// <summary>Asks for every run of <see cref="Runs"/> in turn from a client connected to 127.0.0.1 (which takes datagrams from there only) and checks each datagram.</summary>
    private static async Task RunBatchesAsync(SessionServerOptions options, Mode? mode, bool fromCallback, CancellationToken cancellationToken)
    {
        var handler = new BatchHandler(fromCallback);
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: cancellationToken);
        using Socket client = Client(new IPEndPoint(IPAddress.Loopback, server.LocalEndPoint.Port));

        var buffer = new byte[65_536];
        long expectedDatagrams = 0;
        for (int run = 0; run < Runs.Length; run++)
        {
            int[] lengths = BulkPayload.Lengths(Runs[run].Count, Runs[run].Size);
            client.Send([(byte)run]);
            for (int k = 0; k < lengths.Length; k++)
            {
                int received = ReceiveOrFail(client, buffer, () => $"run {run}, datagram {k}: {server.GetStatistics()}");
                byte[] expected = BulkPayload.Datagram(run, k, lengths[k]);
                Assert.True(buffer.AsSpan(0, received).SequenceEqual(expected),
                    $"run {run} ({Runs[run].Count} × {Runs[run].Size}): datagram {k} has {received} bytes, expected {expected.Length} (content {(received == expected.Length ? "differs" : "not compared")}); {server.GetStatistics()}");
            }

            expectedDatagrams += lengths.Length;
        }

        Assert.False(client.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectRead), "a datagram more than the batches held arrived");
        Assert.Equal(0, handler.Refusals);
        ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, Runs.Length);
        Assert.Equal(expectedDatagrams, stats.DatagramsSent);
        Assert.Equal(expectedDatagrams, handler.Session!.GetStatistics().DatagramsSent);
        Assert.Equal(0, stats.SendsDroppedBufferFull + stats.SendsFailed + stats.SendsDroppedSessionClosed);
        if (mode is not null)
        {
            switch (mode)
            {
                case Mode.Offloaded:
                    Assert.True(stats.SegmentedSends >= Runs.Count(r => r.Count > 1), $"expected UDP_SEGMENT sends: {stats}");
                    Assert.Equal(0, stats.SegmentationFallbacks);
                    break;
                case Mode.TurnedOff:
                    Assert.Equal(0, stats.SegmentedSends + stats.SegmentationFallbacks);
                    break;
                default:
                    Assert.True(stats.SegmentationFallbacks >= 1, $"expected the kernel to refuse UDP_SEGMENT: {stats}");
                    Assert.Equal(0, stats.SegmentedSends);
                    break;
            }
        }
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Replies_coalesced_into_segments_keep_their_order(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), new ManyRepliesHandler(), cancellationToken: timeout.Token);
        using Socket client = Client(server.LocalEndPoint);
        var buffer = new byte[65_536];
        for (int round = 0; round < 5; round++)
        {
            client.Send([(byte)round]);
            foreach ((int index, int length) in ManyRepliesHandler.Replies)
            {
                int received = ReceiveOrFail(client, buffer, () => $"round {round}, reply {index}: {server.GetStatistics()}");
                Assert.True(buffer.AsSpan(0, received).SequenceEqual(BulkPayload.Datagram(round, index, length)), $"round {round}, reply {index}: {received} bytes, expected {length}");
            }
        }

        Assert.False(client.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectRead), "a datagram more than the replies arrived");
        ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, 5);
        Assert.Equal(5 * ManyRepliesHandler.Replies.Length, stats.DatagramsSent);
        if (engine != TestEngine.Portable)
        {
            Assert.True(stats.SegmentedSends >= 5, $"expected runs of equal replies to go out as UDP_SEGMENT sends: {stats}");
        }
    }

    private static int ReceiveOrFail(Socket client, byte[] buffer, Func<string> state)
    {
        try
        {
            return client.Receive(buffer);
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.TimedOut)
        {
            Assert.Fail($"nothing arrived for 10 s; {state()}");
            return 0;
        }
    }

    private static Socket Client(IPEndPoint server)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 1 << 20, ReceiveTimeout = 10_000 };
        client.Connect(server);
        return client;
    }

    /// <summary>Answers run number r with the datagrams of <see cref="Runs"/>[r] in one SendBatch, from its callback or another thread.</summary>
    private sealed class BatchHandler(bool fromCallback) : SessionHandler
    {
        private int _refusals;

        public int Refusals => Volatile.Read(ref _refusals);

        public Session? Session { get; private set; }

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            Session = session;
            int run = datagram[0];
            byte[] payload = BulkPayload.Concatenated(run, BulkPayload.Lengths(Runs[run].Count, Runs[run].Size));
            if (fromCallback)
            {
                Send(session, payload, Runs[run].Size);
            }
            else
            {
                _ = Task.Run(() => Send(session, payload, Runs[run].Size));
            }
        }

        private void Send(Session session, byte[] payload, int size)
        {
            if (!session.SendBatch(payload, size))
            {
                Interlocked.Increment(ref _refusals);
            }
        }
    }

    /// <summary>Answers each datagram with runs of equal replies and replies of other sizes between them, one Send each.</summary>
    private sealed class ManyRepliesHandler : SessionHandler
    {
        public static readonly (int Index, int Length)[] Replies =
            [.. Enumerable.Range(0, 70).Select(i => (i, i switch { < 30 => 300, 30 => 100, < 40 => 300, < 45 => 1232, < 50 => 1233, _ => 20 }))];

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            int round = datagram[0];
            foreach ((int index, int length) in Replies)
            {
                session.Send(BulkPayload.Datagram(round, index, length));
            }
        }
    }
}
