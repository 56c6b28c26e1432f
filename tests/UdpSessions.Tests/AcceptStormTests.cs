using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// Thousands of new peers at once while established peers keep talking: nothing lost, nothing delivered to the wrong
/// session. Every datagram carries its client id; a session must only ever see the id of the client at its
/// RemoteEndPoint, and every client must get back exactly what it sent. Loss is told apart: the server's counters
/// (library drops), the kernel's UDP counters, and the kernel's per-socket drop counts of the server's own sockets.
/// </summary>
public class AcceptStormTests
{
    private const int EstablishedPeers = 50;

    private const int NewPeers = 3_000;

    public static TheoryData<TestEngine, bool> EnginesAndListeners()
    {
        var data = new TheoryData<TestEngine, bool>();
        foreach (TestEngine engine in Enum.GetValues<TestEngine>())
        {
            data.Add(engine, false);
            data.Add(engine, true);
        }

        return data;
    }

    /// <param name="engine">The engine.</param>
    /// <param name="wildcardListener">
    /// Listen on 0.0.0.0 instead of 127.0.0.1: a new session socket is then bound to the specific address and, until
    /// it is connected, beats the listener for other peers' datagrams (the strays the first read re-routes).
    /// </param>
    [Theory(Timeout = 90_000)]
    [MemberData(nameof(EnginesAndListeners))]
    public async Task Accept_storm_loses_nothing_and_misroutes_nothing(TestEngine engine, bool wildcardListener)
    {
        using CancellationTokenSource timeout = TestTimeout.After(60, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine, new IPEndPoint(wildcardListener ? IPAddress.Any : IPAddress.Loopback, 0));
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        var target = new IPEndPoint(IPAddress.Loopback, server.LocalEndPoint.Port);
        using var established = new ClientGroup(target, EstablishedPeers, idBase: 0) { Diagnostics = () => server.GetStatistics().ToString() };
        using var storm = new ClientGroup(target, NewPeers, idBase: 100_000) { Diagnostics = () => server.GetStatistics().ToString() };
        KernelUdpCounters kernelBefore = KernelUdpCounters.Read();

        int establishedSent = established.EchoRounds(0, 1, EstablishedPeers, timeout.Token);

        // The established peers talk without pause (one datagram in flight each) until the storm is over.
        using var stormOver = new CancellationTokenSource();
        Task<(int Sent, int Rounds)> background = Task.Factory.StartNew(
            () =>
            {
                int sent = 0, round = 1;
                while (!stormOver.IsCancellationRequested)
                {
                    sent += established.EchoRounds(round++, 1, EstablishedPeers, timeout.Token);
                }

                return (sent, round - 1);
            },
            TaskCreationOptions.LongRunning);

        int stormSent = 0;
        int backgroundSent, backgroundRounds;
        try
        {
            stormSent = await StormAsync(server, handler, storm, kernelBefore, timeout.Token);
        }
        finally
        {
            await stormOver.CancelAsync();
            (backgroundSent, backgroundRounds) = await background.WaitAsync(timeout.Token);
        }

        establishedSent += backgroundSent;
        established.AssertNothingPending(TimeSpan.FromMilliseconds(50));
        storm.AssertNothingPending(TimeSpan.Zero);

        int totalSent = establishedSent + stormSent;
        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: totalSent);
        KernelUdpCounters kernel = KernelUdpCounters.Read() - kernelBefore;
        TestTimeout.Log($"{engine}: {stats}; established rounds during the storm: {backgroundRounds}; kernel: {kernel}");
        Console.WriteLine($"[AcceptStorm {engine} {options.EndPoint.Address}] StraysRerouted={stats.StraysRerouted} ListenerLateDatagrams={stats.ListenerLateDatagrams} " +
            $"established rounds during storm={backgroundRounds} kernel RcvbufErrors delta={kernel.RcvbufErrors}");

        Assert.True(stats.DatagramsDropped == 0, $"the library dropped datagrams: {ServerChecks.Drops(stats)}");
        Assert.Equal(totalSent, stats.DatagramsDelivered);
        Assert.Equal(totalSent, stats.DatagramsSent);
        Assert.Equal(EstablishedPeers + NewPeers, stats.SessionsAccepted);
        Assert.Equal(EstablishedPeers + NewPeers, stats.ActiveSessions);
        Assert.Equal(0, handler.SendFailures);
        Assert.Equal(0, handler.DuplicateAccepts);
        Assert.True(backgroundRounds > 0, "the established peers never completed a round during the storm");

        // Every session saw exactly one client id: the one of the client at its RemoteEndPoint, and all of its datagrams.
        Dictionary<IPEndPoint, int> clientIds = established.ClientIdsByEndPoint();
        foreach ((IPEndPoint endPoint, int id) in storm.ClientIdsByEndPoint())
        {
            clientIds.Add(endPoint, id);
        }

        foreach (SessionRecord record in handler.Sessions.Values)
        {
            Expect.That(clientIds.TryGetValue(record.Session.RemoteEndPoint, out int id), () => $"a session for an unknown peer: {record}");
            Expect.That(record.ClientIds.SequenceEqual([id]), () => $"session {record} should only have seen client {id}");
            int expectedCount = id >= 100_000 ? 3 : 1 + backgroundRounds;
            Expect.That(record.Datagrams == expectedCount, () => $"session {record} got {record.Datagrams} datagrams, its client sent {expectedCount}");
        }

        Assert.Equal(EstablishedPeers + NewPeers, handler.Sessions.Count);
    }

    /// <summary>
    /// Every new peer fires two datagrams back to back, all 3,000 peers as fast as the sockets go (the second one
    /// usually reaches the listener before the peer's session socket is connected); then each must get exactly its two
    /// datagrams back, in either order; then one more round trip on the new sessions. Returns the datagrams sent.
    /// </summary>
    private static async Task<int> StormAsync(SessionServer server, RecordingHandler handler, ClientGroup storm, KernelUdpCounters kernelBefore,
        CancellationToken cancellationToken)
    {
        int sent = 0;
        var expected = new byte[NewPeers][][];
        for (int i = 0; i < NewPeers; i++)
        {
            expected[i] = [storm.SendSequence(i, 0), storm.SendSequence(i, 1)];
            sent += 2;
        }

        await Task.Run(
            () =>
            {
                for (int i = 0; i < NewPeers; i++)
                {
                    var pending = new List<byte[]>(expected[i]);
                    for (int k = 0; k < 2; k++)
                    {
                        byte[]? reply = storm.TryReceive(i, storm.ReplyTimeout);
                        Expect.That(reply is not null, () => MissingReplies(server, handler, storm, i, pending.Count, kernelBefore));
                        int match = pending.FindIndex(p => p.AsSpan().SequenceEqual(reply));
                        Expect.That(match >= 0, () => $"new peer {storm.ClientId(i)} got {ClientGroup.DescribePayload(reply)}, not one of its own datagrams");
                        pending.RemoveAt(match);
                    }
                }
            },
            cancellationToken);

        // Once accepted, the new sessions answer on their own sockets too.
        return sent + await Task.Run(() => storm.EchoRounds(2, 1, batchSize: 500, cancellationToken), cancellationToken);
    }

    /// <summary>Tells library loss from kernel loss, and kernel loss on the server's own sockets from any other.</summary>
    private static string MissingReplies(SessionServer server, RecordingHandler handler, ClientGroup storm, int index, int missing, KernelUdpCounters kernelBefore)
    {
        ServerStatistics stats = server.GetStatistics();
        (long serverSocketDrops, string sockets) = KernelUdpCounters.DropsOnLocalPort(server.LocalEndPoint.Port, storm.LocalEndPoint(index).ToString());
        return $"new peer {storm.ClientId(index)} ({storm.LocalEndPoint(index)}) is missing {missing} of its 2 replies " +
            $"(its session {(handler.Sessions.Values.Any(r => r.Session.RemoteEndPoint.Equals(storm.LocalEndPoint(index))) ? "exists" : "was never accepted")}). " +
            $"Server counters: {stats} (library drops: {ServerChecks.Drops(stats)}). " +
            $"Kernel UDP counters since the start: {KernelUdpCounters.Read() - kernelBefore}. " +
            $"Datagrams the kernel dropped on the server's own sockets (port {server.LocalEndPoint.Port}): {serverSocketDrops} [{sockets}]. " +
            "A session socket connected to one peer yet showing drops overflowed before connect(), while bound to the port it " +
            "captured other peers' datagrams (its strays).";
    }
}
