using System.Collections.Concurrent;
using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// The epoll engine's listening sockets, one per I/O thread in an SO_REUSEPORT group: the kernel spreads new peers
/// over the threads, keeps every peer on one of them, and a crowd of peers starting at once loses nothing.
/// </summary>
public class ListenerGroupTests
{
    /// <summary>
    /// 3,000 new peers against four I/O threads: every datagram of a peer is handled on one thread (the one its first
    /// datagram reached), every thread's listener takes its share, and nothing is lost or misrouted.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [MemberData(nameof(TestEngines.Epoll), MemberType = typeof(TestEngines))]
    public async Task Four_threads_share_new_peers_and_each_peer_stays_on_one(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(90, TestContext.Current.CancellationToken);
        const int Peers = 3_000;
        var handler = new ThreadRecorder();
        SessionServerOptions options = TestEngines.Options(engine);
        options.IoThreads = 4;
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => server.GetStatistics().ToString() };

        int sent = clients.EchoRounds(0, 4, batchSize: 500, timeout.Token);

        ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, sent);
        Console.WriteLine($"[4 threads {engine}] listener datagrams by thread: {string.Join(", ", stats.ListenerDatagramsByThread)}; {stats}");
        Assert.Equal(Peers, stats.SessionsAccepted);
        Assert.Equal(0, stats.DatagramsRedirected);
        Assert.Equal(4, stats.ListenerDatagramsByThread.Count);
        Assert.All(stats.ListenerDatagramsByThread, count => Assert.True(count > Peers / 16, $"a listener took too few of {Peers} peers: {string.Join(", ", stats.ListenerDatagramsByThread)}"));
        Assert.Equal(Peers, handler.ThreadsBySession.Count);
        Assert.All(handler.ThreadsBySession, pair => Assert.True(pair.Value.Count == 1, $"session {pair.Key} was handled on threads {string.Join(",", pair.Value.Keys)}"));
        Assert.Equal(4, handler.ThreadsBySession.Values.SelectMany(threads => threads.Keys).Distinct().Count());
    }

    /// <summary>
    /// 10,000 client sockets each send their first datagram within a fraction of a second; every one is answered, and
    /// the kernel dropped nothing on the server's sockets (the listeners' buffers hold the burst).
    /// </summary>
    [Theory(Timeout = 180_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Ten_thousand_peers_starting_at_once_lose_nothing(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(150, TestContext.Current.CancellationToken);
        const int Peers = 10_000;
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        options.SocketBudget = 5_000; // the clients live in this process too: 10,000 of them and 10,000 sockets would be its whole fd limit
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => server.GetStatistics().ToString() };

        var started = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < Peers; i++)
        {
            clients.SendSequence(i, 0);
        }

        TimeSpan burst = started.Elapsed;
        for (int i = 0; i < Peers; i++)
        {
            clients.ExpectReply(i, ClientGroup.Payload(clients.ClientId(i), 0));
        }

        ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, Peers);
        (long kernelDrops, string sockets) = KernelUdpCounters.DropsOnLocalPort(server.LocalEndPoint.Port);
        Console.WriteLine($"[10,000 at once {engine}] sent in {burst.TotalMilliseconds:F0} ms; kernel drops on the server's sockets: {kernelDrops}; {stats}");
        Assert.Equal(0, kernelDrops);
        Assert.Equal(Peers, stats.SessionsAccepted);
        Assert.Equal(Peers, stats.DatagramsSent);
        Assert.Equal(0, handler.DuplicateAccepts);
    }

    /// <summary>Records the managed threads each session's datagrams were handled on.</summary>
    private sealed class ThreadRecorder : SessionHandler
    {
        public ConcurrentDictionary<long, ConcurrentDictionary<int, bool>> ThreadsBySession { get; } = new();

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            ThreadsBySession.GetOrAdd(session.Id, _ => new()).TryAdd(Environment.CurrentManagedThreadId, true);
            session.Send(datagram);
        }
    }
}
