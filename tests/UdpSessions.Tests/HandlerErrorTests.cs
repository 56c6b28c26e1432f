using System.Buffers.Binary;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>An exception from OnDatagram closes only its session (Error), is counted, and the I/O thread goes on.</summary>
public class HandlerErrorTests
{
    private const int PoisonSequence = 666_666;

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_throwing_handler_closes_only_that_session_and_the_io_thread_survives(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 6;
        const int Victim = 2;
        var handler = new RecordingHandler
        {
            ThrowWhen = datagram => datagram.Length >= 8 && BinaryPrimitives.ReadInt32LittleEndian(datagram[4..]) == PoisonSequence,
        };
        SessionServerOptions options = TestEngines.Options(engine);
        options.IoThreads = 1; // one I/O thread: if the exception killed it, nothing would be served any more
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => server.GetStatistics().ToString() };
        clients.EchoRounds(0, 1, Peers, timeout.Token);

        SessionRecord victim = handler.SessionOf(clients.LocalEndPoint(Victim));
        clients.SendSequence(Victim, PoisonSequence);
        Assert.Equal(SessionCloseReason.Error, await victim.ClosedTask.WaitAsync(TimeSpan.FromSeconds(5), timeout.Token));
        Assert.Equal(SessionCloseReason.Error, victim.Session.CloseReason);
        Assert.Equal(1, victim.CloseCallbacks);
        Assert.Equal(2, victim.Datagrams);

        // The others keep working, on the same (only) I/O thread.
        for (int round = 1; round <= 3; round++)
        {
            for (int i = 0; i < Peers; i++)
            {
                if (i != Victim)
                {
                    clients.SendSequence(i, round);
                    clients.ExpectReply(i, ClientGroup.Payload(clients.ClientId(i), round));
                }
            }
        }

        // New peers are still accepted.
        using var newcomers = new ClientGroup(server.LocalEndPoint, 4, idBase: 1000) { Diagnostics = () => server.GetStatistics().ToString() };
        newcomers.EchoRounds(0, 2, 4, timeout.Token);

        // The victim's peer comes back as a new session.
        clients.SendSequence(Victim, 7);
        clients.ExpectReply(Victim, ClientGroup.Payload(clients.ClientId(Victim), 7));
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));

        ServerStatistics stats = server.GetStatistics();
        Assert.Equal(1, stats.HandlerErrors);
        Assert.Equal(1, stats.GetClosed(SessionCloseReason.Error));
        Assert.Equal(1, stats.SessionsClosed);
        Assert.Equal(Peers + 4, stats.ActiveSessions);
        Assert.Equal(Peers + 4 + 1, stats.SessionsAccepted);
        Assert.All(handler.Sessions.Values.Where(r => r != victim), r => Assert.True(r.Session.IsOpen, $"{r} was closed"));

        // 6 + poison + 15 + 8 + 1: all delivered (a datagram whose callback threw was delivered), none dropped.
        await ServerChecks.AccountedExactlyAsync(server, 31);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_handler_throwing_on_the_first_datagram_closes_that_session_only(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler
        {
            ThrowWhen = datagram => datagram.Length >= 8 && BinaryPrimitives.ReadInt32LittleEndian(datagram[4..]) == PoisonSequence,
        };
        SessionServerOptions options = TestEngines.Options(engine);
        options.IoThreads = 1;
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, 3) { Diagnostics = () => server.GetStatistics().ToString() };

        clients.SendSequence(0, PoisonSequence);
        await Eventually.TrueAsync(() => handler.Sessions.Count == 1, () => $"{handler.Sessions.Count} sessions", cancellationToken: timeout.Token);
        SessionRecord victim = Assert.Single(handler.Sessions.Values);
        Assert.Equal(SessionCloseReason.Error, await victim.ClosedTask.WaitAsync(TimeSpan.FromSeconds(5), timeout.Token));

        clients.EchoRounds(1, 2, 3, timeout.Token);
        Assert.Equal(1, server.GetStatistics().HandlerErrors);
        Assert.Equal(4, handler.Sessions.Count);
        await ServerChecks.AccountedExactlyAsync(server, 7);
    }
}
