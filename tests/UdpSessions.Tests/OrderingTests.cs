using System.Buffers.Binary;
using System.Collections.Concurrent;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// docs/design.md: before the first read of a new session socket, "its thread drains the listener and its command
/// queue, so the older datagrams are delivered first"; IoLoop.Accept: "this loop delivers the first datagram before
/// any of them". Loopback keeps one socket's datagrams in order, so a new peer's back-to-back datagrams must reach the
/// handler in the order sent, whichever socket or thread they landed on.
/// </summary>
public class OrderingTests
{
    private const int Waves = 4;
    private const int PeersPerWave = 500;
    private const int PerPeer = 8;

    public static TheoryData<TestEngine, int> EnginesAndThreads() => new()
    {
        { TestEngine.EpollOwnSocket, 1 },
        { TestEngine.EpollOwnSocket, 2 },
        { TestEngine.EpollOwnSocketOneShot, 1 },
        { TestEngine.EpollOwnSocketOneShot, 2 },
        { TestEngine.Portable, 1 },
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(EnginesAndThreads))]
    public async Task A_new_peers_first_datagrams_are_delivered_in_the_order_sent(TestEngine engine, int ioThreads)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new OrderRecorder();
        SessionServerOptions options = TestEngines.Options(engine);
        options.IoThreads = ioThreads;
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);

        // All waves stay open to the end: a closed client's port could come back as another "new" peer.
        var waves = new List<ClientGroup>();
        ServerStatistics stats;
        try
        {
            stats = await SendWavesAsync(server, waves, timeout.Token);
        }
        finally
        {
            waves.ForEach(clients => clients.Dispose());
        }

        Assert.Equal(Waves * PeersPerWave, stats.SessionsAccepted);
        Assert.Equal(Waves * PeersPerWave, handler.Sequences.Count);
        string[] outOfOrder = [.. handler.Sequences.Where(p => !p.Value.SequenceEqual(Enumerable.Range(0, PerPeer)))
            .Select(p => $"client {p.Key}: [{string.Join(",", p.Value)}]")];
        Console.WriteLine($"[Ordering {engine}, {ioThreads} I/O threads] {outOfOrder.Length} of {Waves * PeersPerWave} new peers saw reordering; {stats}");
        Assert.True(outOfOrder.Length == 0,
            $"{outOfOrder.Length} of {Waves * PeersPerWave} sessions got their first datagrams out of order, e.g. {string.Join("; ", outOfOrder.Take(3))}. {stats}");
    }

    /// <summary>Each wave: 500 new peers, each sending 8 datagrams back to back (4,000 datagrams fit the listener's queue).</summary>
    private static async Task<ServerStatistics> SendWavesAsync(SessionServer server, List<ClientGroup> waves, CancellationToken cancellationToken)
    {
        ServerStatistics stats = server.GetStatistics();
        for (int wave = 0; wave < Waves; wave++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var clients = new ClientGroup(server.LocalEndPoint, PeersPerWave, idBase: wave * PeersPerWave);
            waves.Add(clients);
            for (int i = 0; i < PeersPerWave; i++)
            {
                for (int sequence = 0; sequence < PerPeer; sequence++)
                {
                    clients.SendSequence(i, sequence);
                }
            }

            stats = await ServerChecks.AccountedAsync(server, expectedReceived: (wave + 1) * PeersPerWave * PerPeer);
            Assert.Equal(0, stats.DatagramsDropped);
        }

        return stats;
    }

    private sealed class OrderRecorder : SessionHandler
    {
        public ConcurrentDictionary<int, List<int>> Sequences { get; } = new();

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            int client = BinaryPrimitives.ReadInt32LittleEndian(datagram);
            int sequence = BinaryPrimitives.ReadInt32LittleEndian(datagram[4..]);
            List<int> list = Sequences.GetOrAdd(client, _ => []);
            lock (list)
            {
                list.Add(sequence);
            }
        }
    }
}
