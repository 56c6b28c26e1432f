using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// The send-queue policy: a peer that does not read fills the kernel's buffers, then the session's queue
/// (<see cref="TcpOptions.SendQueueLimit"/>); then Send refuses (false, counted) and SendAsync waits. Nothing accepted
/// is lost or reordered.
/// </summary>
public class TcpBackPressureTests
{
    private const int MessageSize = 1000;

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Send_returns_false_when_the_queue_is_full_and_everything_it_accepted_arrives_in_order(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        SessionServerOptions options = TcpSessionTests.TcpOptions(engine);
        options.Tcp.SendQueueLimit = 64 * 1024;
        options.SendBufferSize = 16 * 1024;
        await using SessionServer server = await SessionServer.StartAsync(options, cancellationToken: timeout.Token);
        using TcpTestClient client = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);
        client.Socket.ReceiveBufferSize = 16 * 1024;
        Session session = await server.AcceptAsync(timeout.Token);

        // The client reads nothing yet: sends are taken until kernel buffers and the 64 KiB queue are full.
        int accepted = 0;
        int refused = 0;
        for (int i = 0; i < 20_000 && refused < 10; i++)
        {
            byte[] message = new byte[MessageSize];
            BitConverter.TryWriteBytes(message, accepted);
            if (session.Send(message))
            {
                accepted++;
            }
            else
            {
                refused++;
            }
        }

        Assert.Equal(10, refused);
        Assert.InRange(accepted, 64, 19_990); // at least the queue's worth, and not unbounded
        Assert.Equal(10, server.GetStatistics().SendsDroppedBufferFull);

        for (int i = 0; i < accepted; i++)
        {
            byte[]? message = await client.ReceiveMessageAsync(timeout.Token);
            Assert.NotNull(message);
            Assert.Equal(i, BitConverter.ToInt32(message));
        }

        // Once drained, sends are taken again.
        Assert.True(session.Send(new byte[MessageSize]));
        Assert.Equal(MessageSize, (await client.ReceiveMessageAsync(timeout.Token))!.Length);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task SendAsync_waits_for_room_while_a_slow_reader_catches_up(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        const int Messages = 2000; // 2 MB through a 32 KiB queue
        SessionServerOptions options = TcpSessionTests.TcpOptions(engine);
        options.Tcp.SendQueueLimit = 32 * 1024;
        options.SendBufferSize = 16 * 1024;
        await using SessionServer server = await SessionServer.StartAsync(options, cancellationToken: timeout.Token);
        using TcpTestClient client = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);
        Session session = await server.AcceptAsync(timeout.Token);

        Task sender = Task.Run(async () =>
        {
            for (int i = 0; i < Messages; i++)
            {
                byte[] message = new byte[MessageSize];
                BitConverter.TryWriteBytes(message, i);
                await session.SendAsync(message, timeout.Token);
            }
        }, timeout.Token);

        for (int i = 0; i < Messages; i++)
        {
            if (i % 200 == 0)
            {
                await Task.Delay(20, timeout.Token); // slow reader: the queue fills and SendAsync must wait
            }

            byte[]? message = await client.ReceiveMessageAsync(timeout.Token);
            Assert.NotNull(message);
            Assert.Equal(i, BitConverter.ToInt32(message));
        }

        await sender;
        ServerStatistics stats = server.GetStatistics();
        Assert.Equal(Messages, stats.DatagramsSent);
        Assert.Equal(0, stats.SendsDroppedBufferFull);
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Closing_with_a_full_queue_counts_the_unsent_messages_and_releases_SendAsync(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        SessionServerOptions options = TcpSessionTests.TcpOptions(engine);
        options.Tcp.SendQueueLimit = 16 * 1024;
        options.SendBufferSize = 16 * 1024;
        await using SessionServer server = await SessionServer.StartAsync(options, cancellationToken: timeout.Token);
        using TcpTestClient client = await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);
        client.Socket.ReceiveBufferSize = 8 * 1024;
        Session session = await server.AcceptAsync(timeout.Token);

        while (session.Send(new byte[MessageSize]))
        {
        }

        ValueTask waiting = session.SendAsync(new byte[MessageSize], timeout.Token);
        Assert.False(waiting.IsCompleted);
        session.Close();
        await Assert.ThrowsAsync<SessionClosedException>(async () => await waiting);
        await Eventually.TrueAsync(() => server.GetStatistics().SendsDroppedSessionClosed > 0, () => server.GetStatistics().ToString(), cancellationToken: timeout.Token);
    }
}
