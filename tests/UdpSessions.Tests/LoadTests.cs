using System.Buffers.Binary;
using System.Net.Sockets;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>Bursts beyond the per-event read budget, concurrent sends, sends racing a close, and stopping under load.</summary>
public class LoadTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Bursts_far_beyond_the_read_budget_are_delivered_completely(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 3;
        const int Burst = 1_000;
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        options.SessionReceiveBufferSize = 4 << 20; // the burst must fit in the queues: this is about the library, not the kernel
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => server.GetStatistics().ToString() };
        for (int i = 0; i < Peers; i++)
        {
            clients.Socket(i).ReceiveBufferSize = 4 << 20;
        }

        clients.EchoRounds(0, 1, Peers, timeout.Token); // sessions (and sockets) exist before the burst
        KernelUdpCounters kernelBefore = KernelUdpCounters.Read();
        for (int sequence = 1; sequence <= Burst; sequence++)
        {
            for (int i = 0; i < Peers; i++)
            {
                clients.SendSequence(i, sequence);
            }
        }

        await Task.Run(
            () =>
            {
                for (int i = 0; i < Peers; i++)
                {
                    var missing = new HashSet<int>(Enumerable.Range(1, Burst));
                    while (missing.Count > 0)
                    {
                        byte[]? reply = clients.TryReceive(i, TimeSpan.FromSeconds(5));
                        Expect.That(reply is not null, () => $"client {i} is missing {missing.Count} replies, e.g. seq {missing.First()}. " +
                            $"Server: {server.GetStatistics()}. Kernel: {KernelUdpCounters.Read() - kernelBefore}");
                        Assert.Equal(clients.ClientId(i), BinaryPrimitives.ReadInt32LittleEndian(reply));
                        int sequence = BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(4));
                        Expect.That(missing.Remove(sequence), () => $"client {i} got seq {sequence} twice or unexpectedly");
                        Assert.Equal(ClientGroup.Payload(clients.ClientId(i), sequence), reply);
                    }
                }
            },
            timeout.Token);

        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));
        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: Peers * (Burst + 1));
        Assert.Equal(0, stats.DatagramsDropped);
        Assert.Equal(0, handler.SendFailures);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Send_from_many_threads_at_once_delivers_every_accepted_datagram(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Threads = 4;
        const int PerThread = 500;
        var handler = new RecordingHandler { Echo = false };
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using var client = new ClientGroup(server.LocalEndPoint, 1);
        client.Socket(0).ReceiveBufferSize = 4 << 20;
        client.SendSequence(0, 0);
        await Eventually.TrueAsync(() => handler.Sessions.Count == 1, () => "no session", cancellationToken: timeout.Token);
        Session session = handler.Sessions.Values.Single().Session;

        int[] accepted = new int[Threads];
        using var start = new Barrier(Threads);
        Task[] senders = [.. Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait(timeout.Token);
                for (int k = 0; k < PerThread; k++)
                {
                    if (session.Send(ClientGroup.Payload(1000 + t, k)))
                    {
                        accepted[t]++;
                    }
                }
            },
            TaskCreationOptions.LongRunning))];
        await Task.WhenAll(senders).WaitAsync(timeout.Token);

        int expected = accepted.Sum();
        var received = new HashSet<(int, int)>();
        while (received.Count < expected)
        {
            byte[]? datagram = client.TryReceive(0, TimeSpan.FromSeconds(5));
            Expect.That(datagram is not null, () => $"{received.Count} of {expected} sent datagrams arrived; {server.GetStatistics()}");
            int sender = BinaryPrimitives.ReadInt32LittleEndian(datagram);
            int sequence = BinaryPrimitives.ReadInt32LittleEndian(datagram.AsSpan(4));
            Assert.Equal(ClientGroup.Payload(sender, sequence), datagram);
            Expect.That(received.Add((sender, sequence)), () => $"duplicate datagram {sender}/{sequence}");
        }

        Assert.Equal(Threads * PerThread, expected + server.GetStatistics().SendsDroppedBufferFull);
        Assert.Equal(expected, server.GetStatistics().DatagramsSent);
        client.AssertNothingPending(TimeSpan.FromMilliseconds(20));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Sends_racing_a_close_never_throw_and_fail_once_closed(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 40;
        var handler = new RecordingHandler { Echo = false };
        var logs = new CapturingLoggerFactory();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, logs, timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers);
        for (int i = 0; i < Peers; i++)
        {
            clients.SendSequence(i, 0);
        }

        await Eventually.TrueAsync(() => handler.Sessions.Count == Peers, () => $"{handler.Sessions.Count} sessions", cancellationToken: timeout.Token);
        Session[] sessions = [.. handler.Sessions.Values.Select(r => r.Session)];
        using var stop = new CancellationTokenSource();
        Exception? thrown = null;
        Task sender = Task.Factory.StartNew(
            () =>
            {
                byte[] payload = new byte[32];
                try
                {
                    while (!stop.IsCancellationRequested)
                    {
                        foreach (Session session in sessions)
                        {
                            session.Send(payload);
                        }
                    }
                }
                catch (Exception exception)
                {
                    thrown = exception;
                }
            },
            TaskCreationOptions.LongRunning);

        foreach (Session session in sessions)
        {
            session.Close();
            await Task.Yield();
        }

        await Task.WhenAll(handler.Sessions.Values.Select(r => r.ClosedTask)).WaitAsync(TimeSpan.FromSeconds(5), timeout.Token);
        await stop.CancelAsync();
        await sender.WaitAsync(timeout.Token);
        Assert.Null(thrown);
        Assert.All(sessions, s => Assert.False(s.Send([1])));
        Assert.All(handler.Sessions.Values, r => Assert.Equal(1, r.CloseCallbacks));
        Expect.That(server.GetStatistics().SendsFailed == 0, () => $"{server.GetStatistics().SendsFailed} sends failed: {logs.Summary()}");
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Stopping_under_load_closes_everything_and_releases_every_fd(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 200;
        await FileDescriptors.WarmUpAsync();
        int fdsBefore = FileDescriptors.Count();
        var handler = new RecordingHandler();
        SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        var peers = new List<Socket>();
        try
        {
            for (int i = 0; i < Peers; i++)
            {
                var socket = new Socket(System.Net.Sockets.AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
                socket.Connect(server.LocalEndPoint);
                peers.Add(socket);
            }

            // Fire-and-forget traffic from every peer while the server stops (replies are not read).
            using var stop = new CancellationTokenSource();
            Task load = Task.Factory.StartNew(
                () =>
                {
                    byte[] payload = new byte[48];
                    while (!stop.IsCancellationRequested)
                    {
                        foreach (Socket socket in peers)
                        {
                            try
                            {
                                socket.Send(payload);
                            }
                            catch (SocketException)
                            {
                                // ECONNREFUSED once the server is gone, or a full buffer: the load does not care
                            }
                        }
                    }
                },
                TaskCreationOptions.LongRunning);
            await Eventually.TrueAsync(() => handler.Sessions.Count == Peers, () => server.GetStatistics().ToString(), cancellationToken: timeout.Token);
            await Task.Delay(100, timeout.Token);

            await server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10), timeout.Token);
            await stop.CancelAsync();
            await load.WaitAsync(timeout.Token);
        }
        finally
        {
            foreach (Socket socket in peers)
            {
                socket.Dispose();
            }

            await server.DisposeAsync();
        }

        Expect.That(fdsBefore == FileDescriptors.Count(), () => $"{FileDescriptors.Count()} fds after stopping, {fdsBefore} before: {FileDescriptors.Describe()}");
        Assert.All(handler.Sessions.Values, r => Assert.Equal(SessionCloseReason.ServerShutdown, r.ClosedWith));
        Assert.All(handler.Sessions.Values, r => Assert.Equal(1, r.CloseCallbacks));
        ServerStatistics stats = server.GetStatistics();
        Assert.Equal(stats.DatagramsReceived, stats.DatagramsDelivered + stats.DatagramsDropped);
        ServerChecks.DropsOnlyFor(stats, DropReason.SessionClosed); // read while the server stopped
        Assert.Equal(0, stats.ActiveSessions);
    }
}
