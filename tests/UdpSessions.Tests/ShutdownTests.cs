using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>Stopping the server closes every session (ServerShutdown) and every descriptor it opened.</summary>
public class ShutdownTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Dispose_closes_every_session_with_ServerShutdown_and_releases_every_fd(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 300;
        await FileDescriptors.WarmUpAsync();
        int fdsBefore = FileDescriptors.Count();

        var handler = new RecordingHandler();
        SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        ServerStatistics stats;
        using (var peers = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => server.GetStatistics().ToString() })
        {
            peers.EchoRounds(0, 2, 100, timeout.Token);
            int fdsRunning = FileDescriptors.Count();
            int sessionFds = TestEngines.HasSessionSockets(engine) ? Peers : 0;
            Assert.True(fdsRunning >= fdsBefore + Peers + sessionFds + 1, $"{fdsRunning} fds open with {Peers} sessions, {fdsBefore} before");

            await server.DisposeAsync();
            stats = server.GetStatistics();
            Assert.Equal(fdsBefore + Peers, FileDescriptors.Count()); // only the client sockets are left
        }

        Expect.That(fdsBefore == FileDescriptors.Count(), () => $"{FileDescriptors.Count()} fds open after shutdown, {fdsBefore} before start: {FileDescriptors.Describe()}");
        Assert.Equal(Peers, handler.Sessions.Count);
        foreach (SessionRecord record in handler.Sessions.Values)
        {
            Assert.Equal(SessionCloseReason.ServerShutdown, record.ClosedWith);
            Assert.Equal(1, record.CloseCallbacks);
            Assert.False(record.Session.IsOpen);
            Assert.False(record.Session.Send([1]), "Send after shutdown must return false");
        }

        Assert.Equal(0, stats.ActiveSessions);
        Assert.Equal(Peers, stats.GetClosed(SessionCloseReason.ServerShutdown));
        Assert.Equal(2 * Peers, stats.DatagramsReceived);
        Assert.Equal(2 * Peers, stats.DatagramsDelivered);
        ServerChecks.DropsExactly(stats);
        Assert.Equal(Peers, stats.SessionsClosed);

        // Disposing again is harmless.
        await server.DisposeAsync();
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_server_stopped_without_sessions_releases_its_fds_and_the_port(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        await FileDescriptors.WarmUpAsync();
        int fdsBefore = FileDescriptors.Count();
        SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), new RecordingHandler(), cancellationToken: timeout.Token);
        System.Net.IPEndPoint endPoint = server.LocalEndPoint;
        Assert.True(FileDescriptors.Count() > fdsBefore);
        await server.StopAsync(timeout.Token);
        Assert.Equal(fdsBefore, FileDescriptors.Count());

        // The same port can be bound again by a new server.
        SessionServerOptions options = TestEngines.Options(engine, endPoint);
        await using SessionServer again = await SessionServer.StartAsync(options, new RecordingHandler(), cancellationToken: timeout.Token);
        using var client = new ClientGroup(again.LocalEndPoint, 2);
        client.EchoRounds(0, 1, 2, timeout.Token);
    }
}
