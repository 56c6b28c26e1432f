using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>ICMP port unreachable (ECONNREFUSED on a session socket) closes only that session.</summary>
public class PeerUnreachableTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.OwnSocket), MemberType = typeof(TestEngines))]
    public async Task Sending_to_a_closed_peer_closes_only_its_session_with_PeerUnreachable(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 10;
        const int Victim = 3;
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => server.GetStatistics().ToString() };
        clients.EchoRounds(0, 1, Peers, timeout.Token);

        SessionRecord victim = handler.SessionOf(clients.LocalEndPoint(Victim));
        Assert.True(victim.Session.HasOwnSocket);
        clients.Close(Victim);

        // The application sends to the departed peer; the kernel answers with ICMP port unreachable, which reaches the
        // session's connected socket. Send again (bounded) in case the first error is not reported yet.
        byte[] late = ClientGroup.Payload(clients.ClientId(Victim), 99);
        for (int attempt = 0; attempt < 100 && !victim.ClosedTask.IsCompleted; attempt++)
        {
            victim.Session.Send(late);
            await Task.WhenAny(victim.ClosedTask, Task.Delay(50, timeout.Token));
        }

        Expect.That(victim.ClosedTask.IsCompleted, () => $"the session of the closed peer is still open: {victim}; {server.GetStatistics()}");
        Assert.Equal(SessionCloseReason.PeerUnreachable, victim.ClosedWith);
        Assert.Equal(SessionCloseReason.PeerUnreachable, victim.Session.CloseReason);
        Assert.Equal(1, victim.CloseCallbacks);
        Assert.False(victim.Session.Send(late), "Send on a closed session must return false");

        // Everyone else is untouched and keeps echoing.
        clients.EchoRounds(1, 3, Peers, timeout.Token);
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));
        foreach (SessionRecord record in handler.Sessions.Values.Where(r => r != victim))
        {
            Assert.True(record.Session.IsOpen, $"{record} was closed too");
            Assert.Equal(4, record.Datagrams);
        }

        ServerStatistics stats = server.GetStatistics();
        Assert.Equal(1, stats.GetClosed(SessionCloseReason.PeerUnreachable));
        Assert.Equal(1, stats.SessionsClosed);
        Assert.Equal(Peers - 1, stats.ActiveSessions);
        await ServerChecks.AccountedExactlyAsync(server, Peers + (3 * (Peers - 1)));
    }

    /// <summary>
    /// A session served through the shared socket cannot see ICMP errors (the shared socket is unconnected), but
    /// sending to its departed peer must not disturb the shared socket or the other sessions either.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task Portable_engine_keeps_serving_everyone_after_sending_to_a_departed_peer()
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 5;
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(TestEngine.Portable), handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => server.GetStatistics().ToString() };
        clients.EchoRounds(0, 1, Peers, timeout.Token);

        SessionRecord departed = handler.SessionOf(clients.LocalEndPoint(0));
        clients.Close(0);
        for (int i = 0; i < 5; i++)
        {
            departed.Session.Send(ClientGroup.Payload(clients.ClientId(0), 100 + i));
            await Task.Delay(20, timeout.Token);
        }

        clients.EchoRounds(1, 3, Peers, timeout.Token);
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));
        foreach (SessionRecord record in handler.Sessions.Values.Where(r => r != departed))
        {
            Assert.True(record.Session.IsOpen, $"{record} was closed");
        }

        Assert.True(departed.ClosedWith is null or SessionCloseReason.PeerUnreachable, $"{departed}");
        await ServerChecks.AccountedExactlyAsync(server, Peers + (3 * (Peers - 1)));
    }
}
