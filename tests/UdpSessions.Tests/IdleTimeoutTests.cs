using System.Diagnostics;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>Idle sessions close with IdleTimeout, not before the timeout, and give their fds back; active ones stay.</summary>
public class IdleTimeoutTests
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMilliseconds(400);

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Idle_sessions_close_with_IdleTimeout_and_release_their_fds_while_an_active_one_stays(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        await FileDescriptors.WarmUpAsync();
        const int Idle = 20;
        int fdsBeforeEverything = FileDescriptors.Count();

        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        options.IdleTimeout = IdleTimeout;
        SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        var clients = new ClientGroup(server.LocalEndPoint, Idle + 1);
        int keeper = Idle; // the last client keeps talking
        try
        {
            int fdsBeforeSessions = FileDescriptors.Count();
            clients.EchoRounds(0, 1, Idle + 1, timeout.Token);
            long lastSend = Stopwatch.GetTimestamp();
            int sessionFds = TestEngines.HasSessionSockets(engine) ? 1 : 0;
            Expect.That(fdsBeforeSessions + ((Idle + 1) * sessionFds) == FileDescriptors.Count(), () => $"{fdsBeforeSessions} + {Idle + 1} sessions != {FileDescriptors.Count()}: {FileDescriptors.Describe()}; {server.GetStatistics()}");

            // The keeper sends every 100 ms for 1.5 s (almost four timeouts): its session must survive all of it.
            for (int sequence = 1; sequence <= 15; sequence++)
            {
                await Task.Delay(100, timeout.Token);
                clients.Send(keeper, ClientGroup.Payload(clients.ClientId(keeper), sequence));
                clients.ExpectReply(keeper, ClientGroup.Payload(clients.ClientId(keeper), sequence));
            }

            SessionRecord keeperRecord = handler.SessionOf(clients.LocalEndPoint(keeper));
            Assert.True(keeperRecord.Session.IsOpen, $"the active session was closed: {keeperRecord}");
            Assert.Null(keeperRecord.ClosedWith);

            SessionRecord[] idle = [.. Enumerable.Range(0, Idle).Select(i => handler.SessionOf(clients.LocalEndPoint(i)))];
            await Task.WhenAll(idle.Select(record => record.ClosedTask)).WaitAsync(TimeSpan.FromSeconds(5), timeout.Token);
            foreach (SessionRecord record in idle)
            {
                Assert.Equal(SessionCloseReason.IdleTimeout, record.ClosedWith);
                Assert.Equal(SessionCloseReason.IdleTimeout, record.Session.CloseReason);
                Assert.Equal(1, record.CloseCallbacks);
                Assert.False(record.Session.IsOpen);

                // Not before the timeout (a few ms of slack for the loop's coarse clock).
                TimeSpan idleFor = Stopwatch.GetElapsedTime(lastSend, record.ClosedAt);
                Assert.True(idleFor >= IdleTimeout - TimeSpan.FromMilliseconds(30), $"{record} closed after only {idleFor.TotalMilliseconds:F0} ms idle");
            }

            Assert.True(keeperRecord.Session.IsOpen, $"the active session was closed: {keeperRecord}");
            ServerStatistics stats = server.GetStatistics();
            Assert.Equal(Idle, stats.GetClosed(SessionCloseReason.IdleTimeout));
            Assert.Equal(1, stats.ActiveSessions);

            // The idle sessions' sockets are closed: only the keeper's is left.
            int expectedFds = fdsBeforeSessions + sessionFds;
            await Eventually.TrueAsync(() => FileDescriptors.Count() == expectedFds,
                () => $"expected {expectedFds} open fds, have {FileDescriptors.Count()}: {FileDescriptors.Describe()}", cancellationToken: timeout.Token);

            // Silent now, the keeper times out as well.
            SessionCloseReason keeperReason = await keeperRecord.ClosedTask.WaitAsync(TimeSpan.FromSeconds(5), timeout.Token);
            Assert.Equal(SessionCloseReason.IdleTimeout, keeperReason);
            await Eventually.TrueAsync(() => FileDescriptors.Count() == fdsBeforeSessions,
                () => $"expected {fdsBeforeSessions} open fds, have {FileDescriptors.Count()}: {FileDescriptors.Describe()}", cancellationToken: timeout.Token);
        }
        finally
        {
            clients.Dispose();
            await server.DisposeAsync();
        }

        Assert.Equal(fdsBeforeEverything, FileDescriptors.Count());
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_peer_whose_session_timed_out_comes_back_as_a_new_session(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        options.IdleTimeout = TimeSpan.FromMilliseconds(100);
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, 1);

        clients.EchoRounds(0, 1, 1, timeout.Token);
        SessionRecord first = Assert.Single(handler.Sessions.Values);
        Assert.Equal(SessionCloseReason.IdleTimeout, await first.ClosedTask.WaitAsync(TimeSpan.FromSeconds(5), timeout.Token));

        clients.EchoRounds(1, 1, 1, timeout.Token);
        Assert.Equal(2, handler.Sessions.Count);
        SessionRecord second = handler.Sessions.Values.Single(r => r != first);
        Assert.NotEqual(first.Session.Id, second.Session.Id);
        Assert.True(second.Session.IsOpen);
        Assert.Equal(first.Session.RemoteEndPoint, second.Session.RemoteEndPoint);
    }
}
