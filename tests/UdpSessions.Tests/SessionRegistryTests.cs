using System.Buffers.Binary;
using System.Collections.Concurrent;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>SessionServer.Sessions and TryGetSession: live sessions listed and found by id, while others come and go.</summary>
public class SessionRegistryTests
{
    [Theory(Timeout = 120_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Enumeration_and_lookup_stay_exact_for_stable_sessions_while_1000_others_churn(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(90, TestContext.Current.CancellationToken);
        const int Stable = 100, Churned = 1_000, Wave = 100;
        var handler = new LeaveOnRequestHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using var stable = new ClientGroup(server.LocalEndPoint, Stable) { Diagnostics = () => server.GetStatistics().ToString() };
        stable.EchoRounds(0, 1, batchSize: 50, timeout.Token);
        Dictionary<long, Session> stableSessions = handler.Accepted.Values.ToDictionary(s => s.Id);
        Assert.Equal(Stable, stableSessions.Count);

        // A reader on its own thread enumerates and looks up as fast as it can while the churn runs.
        using var stop = new CancellationTokenSource();
        int passes = 0;
        Task reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var seen = new HashSet<long>();
                foreach (Session session in server.Sessions)
                {
                    Assert.True(seen.Add(session.Id), $"session {session.Id} listed twice in one enumeration");
                }

                Assert.Superset(stableSessions.Keys.ToHashSet(), seen);
                foreach ((long id, Session session) in stableSessions)
                {
                    Assert.True(server.TryGetSession(id, out Session? found), $"stable session {id} not found");
                    Assert.Same(session, found);
                }

                passes++;
            }
        }, timeout.Token);

        // 1,000 peers in waves: each joins (one datagram, echoed) and asks to leave (the handler closes it).
        var churnedIds = new List<long>();
        for (int start = 0; start < Churned; start += Wave)
        {
            using var wave = new ClientGroup(server.LocalEndPoint, Wave, idBase: 10_000 + start);
            wave.EchoRounds(0, 1, batchSize: Wave, timeout.Token);
            for (int i = 0; i < Wave; i++)
            {
                wave.Send(i, LeaveOnRequestHandler.Leave);
            }

            await Eventually.TrueAsync(() => handler.Left.Count == start + Wave, () => $"{handler.Left.Count} left, {server.GetStatistics()}",
                cancellationToken: timeout.Token);
        }

        await stop.CancelAsync();
        await reader.WaitAsync(timeout.Token);
        Assert.True(passes > 0);
        churnedIds.AddRange(handler.Left.Keys);
        Assert.Equal(Churned, churnedIds.Count);

        // Now quiet: exactly the stable sessions are listed, and no churned one is found.
        Assert.Equal(Stable, server.Sessions.Count);
        Assert.Equal(stableSessions.Keys.Order(), server.Sessions.Select(s => s.Id).Order());
        Assert.All(churnedIds, id => Assert.False(server.TryGetSession(id, out _), $"closed session {id} still found"));
        Assert.False(server.TryGetSession(-1, out Session? none));
        Assert.Null(none);
        TestTimeout.Log($"{passes} enumeration passes during the churn");
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_handler_relays_a_datagram_to_another_session_found_by_id(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RelayHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        handler.Server = server;
        using var clients = new ClientGroup(server.LocalEndPoint, 2);

        // Each client learns its session id from the server's answer to an empty datagram.
        long[] ids = new long[2];
        for (int i = 0; i < 2; i++)
        {
            clients.Send(i, []);
            ids[i] = BinaryPrimitives.ReadInt64LittleEndian(clients.TryReceive(i, TimeSpan.FromSeconds(5)) ?? throw new TimeoutException("no id"));
        }

        // Client 0 writes to client 1 by id, and the other way round; an unknown id is answered with "no such session".
        byte[] toOne = [.. BitConverter.GetBytes(ids[1]), 1, 2, 3];
        clients.Send(0, toOne);
        clients.ExpectReply(1, [1, 2, 3]);
        clients.Send(1, [.. BitConverter.GetBytes(ids[0]), 4]);
        clients.ExpectReply(0, [4]);
        clients.Send(0, [.. BitConverter.GetBytes(ids[1] + 1_000), 9]);
        clients.ExpectReply(0, RelayHandler.NoSuchSession);
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));
    }

    /// <summary>Echoes; a datagram equal to <see cref="Leave"/> closes its session.</summary>
    private sealed class LeaveOnRequestHandler : SessionHandler
    {
        public static readonly byte[] Leave = "leave"u8.ToArray();

        public ConcurrentDictionary<long, Session> Accepted { get; } = new();

        public ConcurrentDictionary<long, Session> Left { get; } = new();

        public override void OnSessionAccepted(Session session) => Accepted[session.Id] = session;

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            if (datagram.SequenceEqual(Leave))
            {
                session.Close();
            }
            else
            {
                session.Send(datagram);
            }
        }

        public override void OnSessionClosed(Session session, SessionCloseReason reason) => Left[session.Id] = session;
    }

    /// <summary>An empty datagram is answered with the session's id; otherwise the first 8 bytes name the session the rest goes to.</summary>
    private sealed class RelayHandler : SessionHandler
    {
        public static readonly byte[] NoSuchSession = "no such session"u8.ToArray();

        public SessionServer? Server { get; set; }

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            if (datagram.IsEmpty)
            {
                Span<byte> id = stackalloc byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(id, session.Id);
                session.Send(id);
            }
            else if (Server!.TryGetSession(BinaryPrimitives.ReadInt64LittleEndian(datagram), out Session? target))
            {
                target.Send(datagram[8..]);
            }
            else
            {
                session.Send(NoSuchSession);
            }
        }
    }
}
