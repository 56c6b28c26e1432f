using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// One peer's datagrams reach the application in the order sent, and none is lost, while traffic never stops: not
/// only bursts queued before a session exists (OrderingTests) but peers sending continuously while their sessions
/// are accepted, promoted to sockets of their own, closed by the application or by the idle timeout, and accepted
/// again. The sender is one thread pinned to one CPU, so loopback itself keeps each peer's order.
/// </summary>
public class ContinuousOrderingTests
{
    private const int Peers = 100;

    public enum Closes
    {
        /// <summary>Sessions live through the test.</summary>
        None,

        /// <summary>The handler closes its session on every 7th datagram while the peer keeps sending.</summary>
        EverySeventh,

        /// <summary>Peers pause longer than the idle timeout now and then, so sessions time out around their traffic.</summary>
        IdleTimeout,
    }

    public static TheoryData<TestEngine, string, string, Closes> Cases()
    {
        var data = new TheoryData<TestEngine, string, string, Closes>();
        foreach (TestEngine engine in Enum.GetValues<TestEngine>())
        {
            foreach ((string listenOn, string target) in new[] { ("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "127.0.0.1"), ("::", "127.0.0.1"), ("::", "::1") })
            {
                if (engine == TestEngine.Portable && listenOn == "::" && target == "::1")
                {
                    continue; // one dual-stack case is enough for the single-socket engine
                }

                foreach (Closes closes in Enum.GetValues<Closes>())
                {
                    data.Add(engine, listenOn, target, closes);
                }
            }
        }

        return data;
    }

    /// <summary>
    /// 100 peers, 50 datagrams each, round-robin (the audit's scenario), two I/O threads. Adaptive placement runs with a
    /// threshold of a few datagrams per second, so its sessions are promoted in the middle of their traffic.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Cases))]
    public async Task Every_peer_sees_its_datagrams_in_order_and_complete(TestEngine engine, string listenOn, string target, Closes closes)
    {
        using CancellationTokenSource timeout = TestTimeout.After(90, TestContext.Current.CancellationToken);
        SessionServerOptions options = TestEngines.Options(engine, new IPEndPoint(IPAddress.Parse(listenOn), 0));
        options.PromoteAfterDatagramsForTests = 5;
        options.IdleTimeout = closes == Closes.IdleTimeout ? TimeSpan.FromMilliseconds(30) : TimeSpan.FromMinutes(1);
        var handler = new SequenceRecorder(closeEvery: closes == Closes.EverySeventh ? 7 : 0);
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);

        int sent = await SendRoundRobinAsync(server, new IPEndPoint(IPAddress.Parse(target), server.LocalEndPoint.Port), Peers, 50,
            pauseEvery: closes == Closes.IdleTimeout ? 10 : 0, timeout.Token);

        ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, sent);
        Console.WriteLine($"[Continuous {engine} {listenOn}->{target} {closes}] {stats}");
        handler.AssertInOrderAndComplete(Peers, 50, stats);
        if (closes == Closes.EverySeventh)
        {
            Assert.True(stats.SessionsClosed >= Peers * 6, $"the handler closed too few sessions: {stats}");
        }
    }

    /// <summary>
    /// The audit's cross-loop case for sessions served through the listener: 100,000 datagrams from 100 peers with two
    /// I/O threads. With <paramref name="moveMidway"/>, every peer is steered to the first thread's listener, and half
    /// way through to the second's, as a change of the listening group (another process joining the port) moves peers:
    /// the older datagrams still queued on the first listener must be delivered before the hand-overs from the second.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [InlineData(TestEngine.EpollAddressMap, false)]
    [InlineData(TestEngine.EpollAddressMap, true)]
    [InlineData(TestEngine.EpollAdaptive, true)]
    public async Task Sessions_served_across_threads_keep_their_order_in_volume(TestEngine engine, bool moveMidway)
    {
        using CancellationTokenSource timeout = TestTimeout.After(90, TestContext.Current.CancellationToken);
        SessionServerOptions options = TestEngines.Options(engine);
        options.PromotionQueuedDatagramsPerSecond = 100_000_000; // sessions stay on the listeners, where steering applies
        options.SteerAllToListenerForTests = moveMidway ? 0 : null;
        var handler = new SequenceRecorder(closeEvery: 0);
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);

        const int PerPeer = 1_000;
        Action<int>? midway = moveMidway ? sequence =>
        {
            if (sequence == PerPeer / 2)
            {
                ((UdpSessions.Engines.Linux.EpollEngine)server.Implementation).Listeners.SteerAllTo(1);
            }
        } : null;
        int sent = await SendRoundRobinAsync(server, server.LocalEndPoint, Peers, PerPeer, pauseEvery: 0, timeout.Token, midway);

        ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, sent);
        Console.WriteLine($"[Volume {engine} moveMidway={moveMidway}] {stats}");
        handler.AssertInOrderAndComplete(Peers, PerPeer, stats);
        Assert.Equal(Peers, stats.SessionsAccepted);
        Assert.Equal(moveMidway ? sent / 2 : 0, stats.DatagramsRedirected);
    }

    /// <summary>
    /// Round-robin from one pinned thread: for each sequence number, one datagram per peer. The sender stays within
    /// a few thousand datagrams of what the server has read, so the test measures the server's order, not the
    /// kernel's receive buffers.
    /// </summary>
    private static Task<int> SendRoundRobinAsync(SessionServer server, IPEndPoint target, int peers, int perPeer, int pauseEvery, CancellationToken cancellationToken,
        Action<int>? beforeRound = null)
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                using IDisposable pinned = ThreadAffinity.Pin(0);
                var sockets = new Socket[peers];
                for (int i = 0; i < peers; i++)
                {
                    sockets[i] = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                    sockets[i].Connect(target);
                }

                try
                {
                    int sent = 0;
                    byte[] payload = new byte[16];
                    for (int sequence = 0; sequence < perPeer; sequence++)
                    {
                        beforeRound?.Invoke(sequence);
                        for (int peer = 0; peer < peers; peer++)
                        {
                            cancellationToken.ThrowIfCancellationRequested();
                            SequenceRecorder.Write(payload, sequence, peer);
                            sockets[peer].Send(payload);
                            sent++;
                        }

                        Eventually.True(() => server.GetStatistics().DatagramsReceived >= sent - 2_000, () => $"the server fell behind: {server.GetStatistics()}");
                        if (pauseEvery > 0 && sequence % pauseEvery == pauseEvery - 1)
                        {
                            Thread.Sleep(60); // twice the idle timeout: sessions close, the next datagram races their teardown
                        }
                    }

                    done.SetResult(sent);
                }
                finally
                {
                    foreach (Socket socket in sockets)
                    {
                        socket.Dispose();
                    }
                }
            }
            catch (Exception exception)
            {
                done.TrySetException(exception);
            }
        }) { IsBackground = true, Name = "ordered sender" };
        thread.Start();
        return done.Task;
    }

    /// <summary>Records, per peer, the sequence numbers delivered, across all of the peer's sessions; optionally closes sessions.</summary>
    private sealed class SequenceRecorder(int closeEvery) : SessionHandler
    {
        private readonly ConcurrentDictionary<int, List<int>> _sequences = new();

        /// <summary>The payload: sequence number, then the peer.</summary>
        public static void Write(byte[] payload, int sequence, int peer)
        {
            BinaryPrimitives.WriteInt32LittleEndian(payload, sequence);
            BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(4), peer);
        }

        public override void OnSessionAccepted(Session session) => session.UserState = new int[1];

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            int sequence = BinaryPrimitives.ReadInt32LittleEndian(datagram);
            int peer = BinaryPrimitives.ReadInt32LittleEndian(datagram[4..]);
            List<int> list = _sequences.GetOrAdd(peer, _ => []);
            lock (list)
            {
                list.Add(sequence);
            }

            if (closeEvery > 0 && ++((int[])session.UserState!)[0] % closeEvery == 0)
            {
                session.Close();
            }
        }

        public void AssertInOrderAndComplete(int peers, int perPeer, ServerStatistics stats)
        {
            var broken = new List<string>();
            for (int peer = 0; peer < peers; peer++)
            {
                List<int> list = _sequences.GetValueOrDefault(peer) ?? [];
                lock (list)
                {
                    if (!list.SequenceEqual(Enumerable.Range(0, perPeer)))
                    {
                        int first = Enumerable.Range(0, list.Count).FirstOrDefault(i => list[i] != i, list.Count);
                        broken.Add($"peer {peer}: {list.Count} of {perPeer}, first wrong at {first}: ...{string.Join(",", list.Skip(Math.Max(0, first - 3)).Take(8))}...");
                    }
                }
            }

            Assert.True(broken.Count == 0, $"{broken.Count} of {peers} peers saw their datagrams out of order or incomplete, e.g. {string.Join("; ", broken.Take(3))}. {stats}");
        }
    }
}
