using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>MaxDatagramSize is enforced whole (never delivered cut), empty and tiny datagrams are delivered as they are.</summary>
public class DatagramSizeTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Oversized_datagrams_are_dropped_and_counted_and_others_arrive_whole(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        options.MaxDatagramSize = 100;
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var client = new ClientGroup(server.LocalEndPoint, 1) { Diagnostics = () => server.GetStatistics().ToString() };

        // 101 bytes from an unknown peer: dropped on the listener, no session.
        client.Send(0, Filled(101, 1));
        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: 1);
        Assert.Equal(1, stats.GetDropped(DropReason.Oversized));
        Assert.Equal(0, stats.SessionsAccepted);

        // Exactly 100 bytes: delivered whole and echoed. It is the first reply, so the 101 bytes were not echoed.
        byte[] hundred = Filled(100, 2);
        client.Send(0, hundred);
        client.ExpectReply(0, hundred);

        // Oversized on an established session (its own socket, for epoll): 101 bytes and far more than the buffer.
        client.Send(0, Filled(101, 3));
        client.Send(0, Filled(4_000, 4));
        client.Send(0, Filled(60_000, 5));

        // Empty and one-byte datagrams: delivered with their length.
        client.Send(0, []);
        client.ExpectReply(0, []);
        byte[] one = [42];
        client.Send(0, one);
        client.ExpectReply(0, one);
        client.AssertNothingPending(TimeSpan.FromMilliseconds(20));

        stats = await ServerChecks.AccountedAsync(server, expectedReceived: 7);
        Assert.Equal(4, stats.GetDropped(DropReason.Oversized));
        Assert.Equal(4, stats.DatagramsDropped);
        Assert.Equal(3, stats.DatagramsDelivered);
        Assert.Equal(100 + 1, stats.BytesSent);
        Assert.Equal(101 + 100 + 101 + 4_000 + 60_000 + 0 + 1, stats.BytesReceived); // dropped ones with their real length
        SessionRecord record = Assert.Single(handler.Sessions.Values);
        Assert.Equal([100, 0, 1], record.Lengths);
        Assert.True(record.Session.IsOpen);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Send_rejects_datagrams_larger_than_udp_and_returns_false_once_closed(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        options.MaxSendDatagramSize = 65_527; // sends may be larger than what is received (MaxDatagramSize, 4096)
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var client = new ClientGroup(server.LocalEndPoint, 1) { Diagnostics = () => server.GetStatistics().ToString() };
        client.EchoRounds(0, 1, 1, timeout.Token);
        Session session = Assert.Single(handler.Sessions.Values).Session;

        ArgumentException tooLarge = Assert.Throws<ArgumentException>(() => session.Send(new byte[70_000]));
        Assert.Equal("datagram", tooLarge.ParamName);
        Assert.True(session.IsOpen, "a refused send must not close the session");

        // The largest datagram IPv4 can carry still goes out, whole.
        byte[] largest = Filled(65_507, 9);
        Assert.True(session.Send(largest));
        client.ExpectReply(0, largest);

        session.Close();
        Assert.Equal(SessionCloseReason.ClosedByApplication, await Assert.Single(handler.Sessions.Values).ClosedTask.WaitAsync(TimeSpan.FromSeconds(5), timeout.Token));
        Assert.False(session.IsOpen);
        Assert.Equal(SessionCloseReason.ClosedByApplication, session.CloseReason);
        long droppedBefore = server.GetStatistics().SendsDroppedSessionClosed;
        Assert.False(session.Send([1, 2, 3]));
        Assert.Equal(droppedBefore + 1, server.GetStatistics().SendsDroppedSessionClosed);
        Assert.Throws<ArgumentException>(() => session.Send(new byte[70_000]));
        client.AssertNothingPending(TimeSpan.FromMilliseconds(20));
    }

    /// <summary>
    /// 0 bytes, 1 byte, exactly MaxDatagramSize (here the largest IPv4 payload, 65,507) and one byte over, over IPv6
    /// loopback where one byte over still fits a UDP datagram; the oversized one first, from an unknown peer, then
    /// again on the established session.
    /// </summary>
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task The_largest_allowed_datagram_is_delivered_whole_and_one_byte_more_is_dropped(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Max = 65_507;
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine, new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Loopback, 0));
        options.MaxDatagramSize = Max;
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var client = new ClientGroup(server.LocalEndPoint, 1) { Diagnostics = () => server.GetStatistics().ToString() };
        client.Socket(0).SendBufferSize = 1 << 20;
        client.Socket(0).ReceiveBufferSize = 1 << 20;

        client.Send(0, Filled(Max + 1, 1));
        await ServerChecks.AccountedExactlyAsync(server, 1, (DropReason.Oversized, 1));
        Assert.Equal(0, server.GetStatistics().SessionsAccepted);

        foreach (byte[] datagram in new[] { [], [7], Filled(Max, 2) })
        {
            client.Send(0, datagram);
            client.ExpectReply(0, datagram);
        }

        client.Send(0, Filled(Max + 1, 3));
        client.AssertNothingPending(TimeSpan.FromMilliseconds(50));
        ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, 5, (DropReason.Oversized, 2));
        Assert.Equal(3, stats.DatagramsDelivered);
        Assert.Equal([0, 1, Max], Assert.Single(handler.Sessions.Values).Lengths);
    }

    private static byte[] Filled(int length, byte seed)
    {
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)(seed + (i * 7));
        }

        return data;
    }
}
