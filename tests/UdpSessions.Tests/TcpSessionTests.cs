using System.Net;
using System.Net.Sockets;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>TCP sessions on every engine: echo, framing over real sockets, close reasons, limits, back-pressure.</summary>
public class TcpSessionTests
{
    public static SessionServerOptions TcpOptions(TestEngine engine, TcpFraming framing = TcpFraming.LengthPrefix32)
    {
        SessionServerOptions options = TestEngines.Options(engine);
        options.Transport = SessionTransport.Tcp;
        options.Tcp.Framing = framing;
        return options;
    }

    public static TheoryData<TestEngine, TcpFraming> EnginesAndFramings()
    {
        var data = new TheoryData<TestEngine, TcpFraming>();
        foreach (TestEngine engine in Enum.GetValues<TestEngine>())
        {
            data.Add(engine, TcpFraming.LengthPrefix32);
            data.Add(engine, TcpFraming.LengthPrefix16);
        }

        return data;
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(EnginesAndFramings))]
    public async Task Every_connection_is_a_session_that_gets_back_exactly_its_own_messages(TestEngine engine, TcpFraming framing)
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        const int Clients = 20;
        const int Messages = 30;
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(TcpOptions(engine, framing), handler, cancellationToken: timeout.Token);
        Assert.Equal(SessionTransport.Tcp, server.Transport);

        var clients = new List<TcpTestClient>();
        try
        {
            for (int i = 0; i < Clients; i++)
            {
                clients.Add(await TcpTestClient.ConnectAsync(server.LocalEndPoint, framing, timeout.Token));
            }

            await Task.WhenAll(clients.Select((client, index) => Task.Run(async () =>
            {
                var random = new Random(index);
                for (int m = 0; m < Messages; m++)
                {
                    // Client id first (RecordingHandler reads it), then random bytes; every 7th message is empty.
                    byte[] message = m % 7 == 6 ? [] : new byte[4 + random.Next(0, 2000)];
                    if (message.Length > 0)
                    {
                        random.NextBytes(message);
                        BitConverter.TryWriteBytes(message, index);
                    }

                    await client.SendMessageAsync(message, timeout.Token);
                    byte[]? reply = await client.ReceiveMessageAsync(timeout.Token);
                    Assert.NotNull(reply);
                    Assert.Equal(message, reply);
                }
            }, timeout.Token)));

            ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: Clients * Messages);
            Assert.Equal(Clients * Messages, stats.DatagramsDelivered);
            Assert.Equal(Clients * Messages, stats.DatagramsSent);
            Assert.Equal(stats.BytesReceived, stats.BytesSent);
            Assert.Equal(Clients, stats.SessionsAccepted);
            Assert.Equal(Clients, stats.ActiveSessions);
            Assert.Equal(0, handler.SendFailures);
            for (int i = 0; i < Clients; i++)
            {
                SessionRecord record = handler.SessionOf(clients[i].LocalEndPoint);
                Assert.Equal(SessionTransport.Tcp, record.Session.Transport);
                Assert.True(record.Session.HasOwnSocket);
                Assert.Equal([i], record.ClientIds);
                Assert.Equal(Messages, record.Datagrams);
                Assert.Equal(server.LocalEndPoint, record.Session.LocalEndPoint);
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Many_frames_in_one_write_and_one_frame_over_many_writes_arrive_whole_and_in_order(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(TcpOptions(engine), handler, cancellationToken: timeout.Token);
        using TcpTestClient client = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);

        // 100 frames of lengths 0..99 in a single write.
        byte[] batch = Enumerable.Range(0, 100).SelectMany(n => TcpTestClient.Frame(TcpFraming.LengthPrefix32, new byte[n])).ToArray();
        await client.SendRawAsync(batch, timeout.Token);
        for (int n = 0; n < 100; n++)
        {
            Assert.Equal(n, (await client.ReceiveMessageAsync(timeout.Token))!.Length);
        }

        // One 1000-byte frame in 7-byte pieces, each its own segment.
        byte[] big = TcpTestClient.Frame(TcpFraming.LengthPrefix32, Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray());
        for (int offset = 0; offset < big.Length; offset += 7)
        {
            await client.SendRawAsync(big.AsMemory(offset, Math.Min(7, big.Length - offset)), timeout.Token);
            await Task.Delay(offset % 140 == 0 ? 2 : 0, timeout.Token);
        }

        Assert.Equal(big.AsSpan(4).ToArray(), await client.ReceiveMessageAsync(timeout.Token));
        SessionRecord record = handler.SessionOf(client.LocalEndPoint);
        Assert.Equal(101, record.Datagrams);
        Assert.Equal(Enumerable.Range(0, 64).ToArray(), record.Lengths);
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_frame_over_the_maximum_closes_the_session_with_FrameTooLarge(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        SessionServerOptions options = TcpOptions(engine);
        options.Tcp.MaxFrameSize = 1000;
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using TcpTestClient client = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);

        await client.SendMessageAsync(new byte[1000], timeout.Token); // exactly the maximum: fine
        Assert.Equal(1000, (await client.ReceiveMessageAsync(timeout.Token))!.Length);
        await client.SendMessageAsync(new byte[1001], timeout.Token);

        SessionRecord record = handler.SessionOf(client.LocalEndPoint);
        Assert.Equal(SessionCloseReason.FrameTooLarge, await record.ClosedTask.WaitAsync(timeout.Token));
        await client.DrainUntilClosedAsync(timeout.Token); // the server closed the connection
        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: 2);
        Assert.Equal(1, stats.GetDropped(DropReason.Oversized));
        Assert.Equal(1, stats.GetClosed(SessionCloseReason.FrameTooLarge));
        Assert.Equal(1, record.Datagrams);
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_peer_FIN_closes_with_PeerClosed_after_its_messages_and_counts_a_cut_frame(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(TcpOptions(engine), handler, cancellationToken: timeout.Token);
        using TcpTestClient client = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);

        // Two whole messages and half of a third, then FIN (half-close: the client can still read the replies).
        byte[] stream = [.. TcpTestClient.Frame(TcpFraming.LengthPrefix32, [1, 1, 1, 1]), .. TcpTestClient.Frame(TcpFraming.LengthPrefix32, [2, 2, 2, 2]), 0, 0, 0, 9, 3];
        await client.SendRawAsync(stream, timeout.Token);
        client.Socket.Shutdown(SocketShutdown.Send);

        Assert.Equal([1, 1, 1, 1], await client.ReceiveMessageAsync(timeout.Token));
        Assert.Equal([2, 2, 2, 2], await client.ReceiveMessageAsync(timeout.Token));
        Assert.Null(await client.ReceiveMessageAsync(timeout.Token)); // then the server closes its side
        SessionRecord record = handler.SessionOf(client.LocalEndPoint);
        Assert.Equal(SessionCloseReason.PeerClosed, await record.ClosedTask.WaitAsync(timeout.Token));
        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: 3);
        Assert.Equal(1, stats.GetDropped(DropReason.IncompleteFrame));
        Assert.Equal(0, stats.ActiveSessions);
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_peer_RST_closes_with_PeerReset(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(TcpOptions(engine), handler, cancellationToken: timeout.Token);
        TcpTestClient client = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);
        await client.SendMessageAsync(new byte[10], timeout.Token);
        Assert.NotNull(await client.ReceiveMessageAsync(timeout.Token));
        IPEndPoint local = client.LocalEndPoint;
        client.Reset();

        SessionRecord record = handler.SessionOf(local);
        Assert.Equal(SessionCloseReason.PeerReset, await record.ClosedTask.WaitAsync(timeout.Token));
        Assert.Equal(1, record.CloseCallbacks);
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Idle_connections_close_with_IdleTimeout_and_the_client_sees_the_close(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        SessionServerOptions options = TcpOptions(engine);
        options.IdleTimeout = TimeSpan.FromMilliseconds(300);
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using TcpTestClient client = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);
        await client.SendMessageAsync(new byte[3], timeout.Token);
        Assert.NotNull(await client.ReceiveMessageAsync(timeout.Token));

        Assert.Equal(0, await client.DrainUntilClosedAsync(timeout.Token));
        SessionRecord record = handler.SessionOf(client.LocalEndPoint);
        Assert.Equal(SessionCloseReason.IdleTimeout, await record.ClosedTask.WaitAsync(timeout.Token));
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Raw_mode_echoes_the_stream_byte_for_byte(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        SessionServerOptions options = TcpOptions(engine, TcpFraming.Raw);
        options.Tcp.MaxFrameSize = 1000; // each read delivers at most this much
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using TcpTestClient client = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.Raw, timeout.Token);

        byte[] sent = new byte[50_000];
        new Random(5).NextBytes(sent);
        Task send = client.SendRawAsync(sent, timeout.Token);
        byte[] received = new byte[sent.Length];
        Assert.True(await client.ReadExactlyAsync(received, timeout.Token));
        await send;
        Assert.Equal(sent, received);
        SessionRecord record = handler.SessionOf(client.LocalEndPoint);
        Assert.All(record.Lengths, length => Assert.InRange(length, 1, 1000));
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Connections_over_MaxSessions_are_refused_and_counted(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        SessionServerOptions options = TcpOptions(engine);
        options.MaxSessions = 2;
        await using SessionServer server = await SessionServer.StartAsync(options, new RecordingHandler(), cancellationToken: timeout.Token);
        using TcpTestClient first = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);
        using TcpTestClient second = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);
        await Eventually.TrueAsync(() => server.GetStatistics().ActiveSessions == 2, () => server.GetStatistics().ToString(), cancellationToken: timeout.Token);
        using TcpTestClient third = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);

        Assert.Equal(0, await third.DrainUntilClosedAsync(timeout.Token));
        Assert.Equal(1, server.GetStatistics().ConnectionsRefused);
        await first.SendMessageAsync(new byte[1], timeout.Token);
        Assert.NotNull(await first.ReceiveMessageAsync(timeout.Token));
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Sending_a_message_over_MaxFrameSize_throws(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        SessionServerOptions options = TcpOptions(engine);
        options.Tcp.MaxFrameSize = 100;
        await using SessionServer server = await SessionServer.StartAsync(options, cancellationToken: timeout.Token);
        using TcpTestClient client = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);
        Session session = await server.AcceptAsync(timeout.Token);
        Assert.Throws<ArgumentException>(() => session.Send(new byte[101]));
        Assert.True(session.Send(new byte[100]));
        Assert.Equal(100, (await client.ReceiveMessageAsync(timeout.Token))!.Length);
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_greeting_larger_than_the_socket_buffers_sent_from_OnSessionAccepted_arrives_whole(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        SessionServerOptions options = TcpOptions(engine);
        options.SendBufferSize = 16 * 1024;
        options.Tcp.SendQueueLimit = 4 << 20;
        var handler = new GreetingHandler(Messages: 32, Size: 60_000);
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using TcpTestClient client = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);

        for (int i = 0; i < 32; i++)
        {
            byte[]? message = await client.ReceiveMessageAsync(timeout.Token);
            Assert.NotNull(message);
            Assert.Equal(60_000, message.Length);
            Assert.All(message, b => Assert.Equal((byte)i, b));
        }

        Assert.Equal(32, handler.Accepted);
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task The_async_API_receives_whole_messages_and_reports_the_close(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        await using SessionServer server = await SessionServer.StartAsync(TcpOptions(engine), cancellationToken: timeout.Token);
        using TcpTestClient client = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);
        byte[] two = [.. TcpTestClient.Frame(TcpFraming.LengthPrefix32, [5, 6, 7]), .. TcpTestClient.Frame(TcpFraming.LengthPrefix32, [])];
        await client.SendRawAsync(two, timeout.Token);
        client.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);

        Session session = await server.AcceptAsync(timeout.Token);
        Assert.Equal(SessionTransport.Tcp, session.Transport);
        byte[] buffer = new byte[100];
        Assert.Equal(3, await session.ReceiveAsync(buffer, timeout.Token));
        Assert.Equal([5, 6, 7], buffer[..3]);
        Assert.Equal(0, await session.ReceiveAsync(buffer, timeout.Token));
        SessionClosedException closed = await Assert.ThrowsAsync<SessionClosedException>(async () => await session.ReceiveAsync(buffer, timeout.Token));
        Assert.Equal(SessionCloseReason.PeerClosed, closed.Reason);
    }

    private sealed class GreetingHandler(int Messages, int Size) : SessionHandler
    {
        private int _accepted;

        public int Accepted => Volatile.Read(ref _accepted);

        public override void OnSessionAccepted(Session session)
        {
            byte[] message = new byte[Size];
            for (int i = 0; i < Messages; i++)
            {
                Array.Fill(message, (byte)i);
                if (session.Send(message))
                {
                    Interlocked.Increment(ref _accepted);
                }
            }
        }

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
        }
    }
}
