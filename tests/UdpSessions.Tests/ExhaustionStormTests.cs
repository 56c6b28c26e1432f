using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// Resources run out in the middle of an accept storm (the fd limit is lowered, or the socket budget is spent) while
/// established peers keep talking: nothing crashes, every later peer is served through the listener, nothing is lost
/// and no datagram reaches another peer's session.
/// </summary>
public class ExhaustionStormTests
{
    private const int EstablishedPeers = 20;
    private const int NewPeers = 600;
    private const int ExhaustAfter = 200;
    private const int FreeFds = 60;
    private const int Budget = 150;

    public static TheoryData<TestEngine, bool> Cases() => new()
    {
        { TestEngine.EpollOwnSocket, true },
        { TestEngine.EpollOwnSocket, false },
        { TestEngine.EpollOwnSocketOneShot, true },
        { TestEngine.EpollOwnSocketOneShot, false },
    };

    /// <param name="engine">The engine.</param>
    /// <param name="fdLimit">True: the soft RLIMIT_NOFILE is lowered mid-storm (real EMFILE); false: the socket budget runs out.</param>
    [Theory(Timeout = 90_000)]
    [MemberData(nameof(Cases))]
    public async Task Running_out_of_sockets_mid_storm_loses_and_misroutes_nothing(TestEngine engine, bool fdLimit)
    {
        using CancellationTokenSource timeout = TestTimeout.After(60, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        if (!fdLimit)
        {
            options.SocketBudget = Budget;
        }

        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var established = new ClientGroup(server.LocalEndPoint, EstablishedPeers) { Diagnostics = () => server.GetStatistics().ToString() };
        using var storm = new ClientGroup(server.LocalEndPoint, NewPeers, idBase: 100_000) { Diagnostics = () => server.GetStatistics().ToString() };
        int sent = established.EchoRounds(0, 1, EstablishedPeers, timeout.Token);
        _ = handler.ByRemote(); // everything used while fds are short has run once

        using var background = new BackgroundEcho(established, 1, timeout.Token);

        (ulong soft, _) = ProcessLimits.GetOpenFiles();
        try
        {
            for (int i = 0; i < NewPeers; i++)
            {
                if (fdLimit && i == ExhaustAfter)
                {
                    // Wait until the first peers have their sockets, then leave only a few fds free.
                    await Eventually.TrueAsync(() => server.GetStatistics().SessionsAccepted >= EstablishedPeers + ExhaustAfter, () => server.GetStatistics().ToString(), cancellationToken: timeout.Token);
                    ProcessLimits.SetOpenFilesSoft(ProcessLimits.SoftLimitLeaving(FreeFds));
                }

                storm.SendSequence(i, 0);
                storm.SendSequence(i, 1);
                sent += 2;
            }

            // Each new peer gets exactly its own two datagrams back, in either order.
            for (int i = 0; i < NewPeers; i++)
            {
                var pending = new List<byte[]> { ClientGroup.Payload(storm.ClientId(i), 0), ClientGroup.Payload(storm.ClientId(i), 1) };
                for (int k = 0; k < 2; k++)
                {
                    byte[]? reply = storm.TryReceive(i, storm.ReplyTimeout);
                    Expect.That(reply is not null, () => $"peer {storm.ClientId(i)} is missing a reply: {server.GetStatistics()}");
                    int match = pending.FindIndex(p => p.AsSpan().SequenceEqual(reply));
                    Expect.That(match >= 0, () => $"peer {storm.ClientId(i)} got {ClientGroup.DescribePayload(reply)}, not its own");
                    pending.RemoveAt(match);
                }
            }
        }
        finally
        {
            ProcessLimits.SetOpenFilesSoft(soft);
            sent += (await background.StopAsync(timeout.Token)).Sent;
        }

        sent += storm.EchoRounds(2, 1, 100, timeout.Token); // the fallback sessions keep working with fds back
        storm.AssertNothingPending(TimeSpan.FromMilliseconds(20));
        established.AssertNothingPending(TimeSpan.Zero);

        ServerStatistics stats = await ServerChecks.AccountedExactlyAsync(server, sent);
        int withSocket = handler.Sessions.Values.Count(r => r.Session.HasOwnSocket);
        TestTimeout.Log($"{engine} fdLimit={fdLimit}: {withSocket} sessions with a socket; {stats}");
        Assert.Equal(sent, stats.DatagramsDelivered);
        Assert.Equal(EstablishedPeers + NewPeers, stats.ActiveSessions);
        Assert.True(stats.SessionsWithoutSocket > 0, $"every session got a socket: {stats}");
        Assert.Equal(EstablishedPeers + NewPeers - stats.SessionsWithoutSocket, withSocket);
        Assert.InRange(withSocket, EstablishedPeers, fdLimit ? EstablishedPeers + ExhaustAfter + FreeFds : Budget);

        // No session saw another peer's datagram.
        Dictionary<IPEndPoint, int> ids = established.ClientIdsByEndPoint();
        foreach ((IPEndPoint endPoint, int id) in storm.ClientIdsByEndPoint())
        {
            ids.Add(endPoint, id);
        }

        foreach (SessionRecord record in handler.Sessions.Values)
        {
            Expect.That(record.ClientIds.SequenceEqual([ids[record.Session.RemoteEndPoint]]), () => $"{record} saw another peer's datagrams");
        }
    }
}
