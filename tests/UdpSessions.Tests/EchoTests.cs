using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>Echo with payload verification: every reply equal to what that socket sent, on that socket, nothing extra.</summary>
public class EchoTests
{
    public static TheoryData<int, TestEngine> SessionCounts()
    {
        var data = new TheoryData<int, TestEngine>();
        foreach (int sessions in new[] { 1, 100, 5_000 })
        {
            foreach (TestEngine engine in Enum.GetValues<TestEngine>())
            {
                data.Add(sessions, engine);
            }
        }

        return data;
    }

    [Theory(Timeout = 90_000)]
    [MemberData(nameof(SessionCounts))]
    public async Task Every_session_gets_back_exactly_its_own_datagrams(int sessions, TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(60, TestContext.Current.CancellationToken);
        const int Rounds = 3;
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, sessions) { Diagnostics = () => server.GetStatistics().ToString() };

        // Batches keep the listener's queue short while thousands of peers are new; later rounds go to session sockets.
        int sent = await Task.Run(() => clients.EchoRounds(0, Rounds, batchSize: 250, timeout.Token), timeout.Token);
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(50));

        Assert.Equal(sessions * Rounds, sent);
        ServerStatistics stats = await ServerChecks.AccountedAsync(server, expectedReceived: sent);
        Assert.Equal(0, stats.DatagramsDropped);
        Assert.Equal(sent, stats.DatagramsDelivered);
        Assert.Equal(sent, stats.DatagramsSent);
        Assert.Equal(sessions, stats.SessionsAccepted);
        Assert.Equal(sessions, stats.ActiveSessions);
        Assert.Equal(0, handler.SendFailures);
        Assert.Equal(0, handler.DuplicateAccepts);

        // One session per client, holding only that client's datagrams, facing the server's address.
        Dictionary<IPEndPoint, List<SessionRecord>> byRemote = handler.ByRemote();
        Assert.Equal(sessions, byRemote.Count);
        for (int i = 0; i < sessions; i++)
        {
            Expect.That(byRemote.TryGetValue(clients.LocalEndPoint(i), out List<SessionRecord>? records), () => $"no session for client {i} ({clients.LocalEndPoint(i)})");
            SessionRecord record = Assert.Single(records!);
            Assert.Equal([clients.ClientId(i)], record.ClientIds);
            Assert.Equal(Rounds, record.Datagrams);
            Assert.Equal(server.LocalEndPoint, record.Session.LocalEndPoint);
            Assert.True(record.Session.IsOpen);
            Assert.Equal(TestEngines.HasSessionSockets(engine), record.Session.HasOwnSocket);
        }
    }
}
