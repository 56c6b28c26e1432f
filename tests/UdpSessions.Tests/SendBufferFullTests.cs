using System.Net;
using System.Net.Sockets;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// The documented policy when a send buffer is full (EAGAIN) or the device queue refuses a datagram (ENOBUFS): the
/// datagram is counted in SendsDroppedBufferFull, the session stays open and later sends succeed; SendAsync waits
/// until the socket is writable. From another thread Session.Send returns false at once; on the session's I/O thread
/// (the epoll engine) it queues the datagram in the thread's send batch and returns true, and a refusal at the flush
/// is counted while the rest of the batch still goes out. A full buffer needs a slow link, so the test runs in a
/// private network namespace whose loopback is shaped with tbf (about 1 MB/s).
/// </summary>
public class SendBufferFullTests
{
    private const int Burst = 300;
    private const int ReplySize = 1_400;

    public static TheoryData<TestEngine, bool> Cases()
    {
        var data = new TheoryData<TestEngine, bool>();
        foreach (TestEngine engine in new[] { TestEngine.EpollOwnSocket, TestEngine.EpollOwnSocketOneShot, TestEngine.EpollAddressMap })
        {
            data.Add(engine, true);
            data.Add(engine, false);
        }

        return data;
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Cases))]
    public void Sends_into_a_full_buffer_are_refused_counted_and_the_session_stays_open(TestEngine engine, bool fromIoThread)
    {
        SessionServerOptions options = TestEngines.Options(engine);
        options.SendBufferSize = 32 * 1024;
        TestContext.Current.CancellationToken.ThrowIfCancellationRequested();
        NetworkNamespace.Run(["tc qdisc add dev lo root tbf rate 8mbit burst 16kb limit 64kb"], () => Body(options, fromIoThread), TimeSpan.FromSeconds(45));
    }

    private static void Body(SessionServerOptions options, bool fromIoThread)
    {
        var handler = new BurstHandler(fromIoThread);
        var server = new SessionServer(options, handler);
        server.StartAsync().AsTask().GetAwaiter().GetResult();
        try
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 8 << 20 };
            client.Connect(server.LocalEndPoint);
            client.Send([1]);

            // Read every reply that the server says it sent: nothing Send accepted may be lost, nothing refused may arrive.
            Eventually.True(() => handler.Attempts == Burst, () => $"{handler.Attempts} sends attempted");
            int received = Drain(client, expected: handler.Accepted);
            ServerStatistics stats = server.GetStatistics();
            TestTimeout.Log($"burst of {Burst}: {handler.Accepted} sent, {handler.Refused} refused; {stats}; SendsDroppedBufferFull={stats.SendsDroppedBufferFull}");
            Assert.True(stats.SendsDroppedBufferFull > 0, $"no send was refused: the shaped link took all {Burst} replies at once ({stats})");
            Assert.Equal(handler.Refused, fromIoThread ? 0 : stats.SendsDroppedBufferFull); // batched: Send said yes, the flush counted the refusal
            Assert.Equal(Burst, stats.DatagramsSent + stats.SendsDroppedBufferFull);
            Assert.Equal(stats.DatagramsSent, received);
            Assert.Equal(0, stats.SendsFailed);
            Session session = handler.Session!;
            Assert.True(session.IsOpen, "a full send buffer must not close the session");

            // Once the queue has drained, the same session sends again; SendAsync waits for room instead of failing.
            client.Send([2]);
            Eventually.True(() => handler.Attempts == 2 * Burst, () => $"{handler.Attempts} sends attempted");
            Eventually.True(() => server.GetStatistics().DatagramsSent + server.GetStatistics().SendsDroppedBufferFull == 2 * Burst, () => $"{server.GetStatistics()}");
            ServerStatistics second = server.GetStatistics();
            Assert.True(second.DatagramsSent > received, "no send succeeded after the buffer drained");
            for (int i = 0; i < 50; i++)
            {
                session.SendAsync(new byte[ReplySize]).AsTask().GetAwaiter().GetResult();
            }

            long expectedTotal = second.DatagramsSent + 50;
            received += Drain(client, expected: (int)expectedTotal - received);
            Assert.Equal(expectedTotal, received);
            ServerStatistics after = server.GetStatistics();
            Assert.Equal(second.SendsDroppedBufferFull, after.SendsDroppedBufferFull); // SendAsync never counts a drop, it waits
            Assert.Equal(expectedTotal, after.DatagramsSent);
            Assert.Equal(2, after.DatagramsReceived);
            Assert.Equal(2, after.DatagramsDelivered);
            ServerChecks.DropsExactly(after);
        }
        finally
        {
            server.StopAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static int Drain(Socket client, int expected)
    {
        byte[] buffer = new byte[2048];
        int received = 0;
        while (received < expected && client.Poll(3_000_000, SelectMode.SelectRead))
        {
            Assert.Equal(ReplySize, client.Receive(buffer));
            received++;
        }

        Assert.False(client.Poll(300_000, SelectMode.SelectRead), "more replies arrived than Send accepted");
        return received;
    }

    /// <summary>
    /// Answers each datagram with a burst of replies, as fast as Send takes them, on the I/O thread or from another
    /// thread, and counts the outcomes.
    /// </summary>
    private sealed class BurstHandler(bool fromIoThread) : SessionHandler
    {
        private readonly byte[] _reply = new byte[ReplySize];
        private int _accepted;
        private int _refused;

        public Session? Session { get; private set; }

        public int Accepted => Volatile.Read(ref _accepted);

        public int Refused => Volatile.Read(ref _refused);

        public int Attempts => Accepted + Refused;

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            Session = session;
            if (fromIoThread)
            {
                SendBurst(session);
            }
            else
            {
                Task.Run(() => SendBurst(session));
            }
        }

        private void SendBurst(Session session)
        {
            for (int i = 0; i < Burst; i++)
            {
                if (session.Send(_reply))
                {
                    Interlocked.Increment(ref _accepted);
                }
                else
                {
                    Interlocked.Increment(ref _refused);
                }
            }
        }
    }
}
