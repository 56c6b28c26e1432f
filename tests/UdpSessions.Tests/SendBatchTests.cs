using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// Replies sent from callbacks on the I/O thread go out in batches (sendmmsg on the epoll engine) before the thread
/// waits again: several replies per datagram arrive whole and in order, and a reply sent just before the session is
/// closed still reaches the peer.
/// </summary>
public class SendBatchTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Several_replies_per_datagram_arrive_in_order(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 200, Replies = 5;
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), new FanOutHandler(Replies), cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => server.GetStatistics().ToString() };

        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < Peers; i++)
            {
                clients.SendSequence(i, round);
            }

            for (int i = 0; i < Peers; i++)
            {
                for (int k = 0; k < Replies; k++)
                {
                    clients.ExpectReply(i, FanOutHandler.Reply(ClientGroup.Payload(clients.ClientId(i), round), k));
                }
            }
        }

        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));
        ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, Peers * 3);
        Assert.Equal(Peers * 3 * Replies, stats.DatagramsSent);
        Assert.Equal(0, stats.SendsDroppedBufferFull + stats.SendsFailed + stats.SendsDroppedSessionClosed);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_reply_sent_right_before_a_close_reaches_the_peer(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 300;
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), new ReplyThenCloseHandler(), cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => server.GetStatistics().ToString() };

        // Each datagram starts a session that answers and closes in the same callback; the next one starts another.
        int sent = clients.EchoRounds(0, 4, batchSize: 100, timeout.Token);

        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));
        ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, sent);
        Assert.Equal(sent, stats.SessionsAccepted);
        Assert.Equal(sent, stats.DatagramsSent);
        Assert.Equal(sent, stats.GetClosed(SessionCloseReason.ClosedByApplication));
    }

    private sealed class FanOutHandler(int replies) : SessionHandler
    {
        public static byte[] Reply(ReadOnlySpan<byte> datagram, int index) => [(byte)index, .. datagram];

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            for (int k = 0; k < replies; k++)
            {
                Assert.True(session.Send(Reply(datagram, k)));
            }
        }
    }

    private sealed class ReplyThenCloseHandler : SessionHandler
    {
        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            session.Send(datagram);
            session.Close();
        }
    }
}
