using System.Buffers.Binary;
using System.Collections.Concurrent;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>SessionServer.Broadcast and SessionGroup: one datagram to many sessions, exactly once each, counted.</summary>
public class BroadcastTests
{
    private const int Peers = 1_000;

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_broadcast_to_1000_sessions_arrives_exactly_once_at_each_from_any_thread(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(90, TestContext.Current.CancellationToken);
        var handler = new LobbyHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers) { Diagnostics = () => server.GetStatistics().ToString() };
        clients.EchoRounds(0, 1, batchSize: 100, timeout.Token);
        await Eventually.TrueAsync(() => server.Sessions.Count == Peers, () => $"{server.Sessions.Count} listed", cancellationToken: timeout.Token);

        // From a thread that is not an I/O thread: every session, then the group (all of them too). So far the server
        // sent one echo to each.
        byte[] snapshot = Snapshot(1);
        Assert.Equal(Peers, await Task.Run(() => server.Broadcast(snapshot), timeout.Token));
        ExpectOnceAtEach(clients, snapshot, except: -1);
        Assert.Equal(Peers, handler.Room.Count);
        byte[] roomSnapshot = Snapshot(2);
        Assert.Equal(Peers, await Task.Run(() => handler.Room.Send(roomSnapshot), timeout.Token));
        ExpectOnceAtEach(clients, roomSnapshot, except: -1);

        // From an I/O thread: client 7 shouts, its handler sends it to the room but the shouter.
        byte[] shout = [.. LobbyHandler.ShoutPrefix, 7, 7, 7];
        clients.Send(7, shout);
        ExpectOnceAtEach(clients, shout, except: 7);

        clients.AssertNothingPending(TimeSpan.FromMilliseconds(50));
        ServerStatistics stats = await ServerChecks.AccountedAsync(server, Peers + 1);
        await Eventually.TrueAsync(() => server.GetStatistics().DatagramsSent == Peers + (3 * Peers) - 1, () => server.GetStatistics().ToString(),
            cancellationToken: timeout.Token);
        stats = server.GetStatistics();
        Assert.Equal(0, stats.SendsDroppedBufferFull + stats.SendsDroppedSessionClosed + stats.SendsDroppedOversized + stats.SendsFailed);
        await Eventually.TrueAsync(() => handler.Room.Sum(s => s.GetStatistics().DatagramsSent) == stats.DatagramsSent, // each copy in its session's counters too
            () => $"sessions count {handler.Room.Sum(s => s.GetStatistics().DatagramsSent)} sent, the server {stats.DatagramsSent}", cancellationToken: timeout.Token);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Sessions_leave_their_groups_when_they_close_and_a_group_sends_only_to_its_members(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Count = 40;
        var handler = new LobbyHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        options.IdleTimeout = TimeSpan.FromMilliseconds(400);
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Count) { Diagnostics = () => server.GetStatistics().ToString() };
        clients.EchoRounds(0, 1, batchSize: Count, timeout.Token);
        await Eventually.TrueAsync(() => handler.Room.Count == Count, () => $"{handler.Room.Count} in the room", cancellationToken: timeout.Token);
        var byRemote = handler.Room.ToDictionary(m => Endpoints.Normalize(m.RemoteEndPoint));
        Session[] members = [.. Enumerable.Range(0, Count).Select(i => byRemote[clients.LocalEndPoint(i)])]; // members[i] is client i's

        // A second group, filled from several threads at once.
        var team = new SessionGroup();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (int i = t; i < Count; i += 4)
            {
                Assert.True(team.Add(members[i]));
                Assert.False(team.Add(members[i]), "added twice");
            }
        }, timeout.Token)));
        Assert.Equal(Count, team.Count);
        Assert.All(members, m => Assert.True(team.Contains(m)));
        Assert.True(team.Remove(members[0]));
        Assert.False(team.Remove(members[0]));
        Assert.Equal(Count - 1, team.Count);

        // Sessions 0-9 are closed by the application, 10-19 go quiet and time out; 20-39 keep talking (not echoed).
        for (int i = 0; i < 10; i++)
        {
            members[i].Close();
        }

        await Eventually.TrueAsync(
            () =>
            {
                for (int i = 20; i < Count; i++)
                {
                    clients.Send(i, LobbyHandler.Quiet);
                }

                return handler.Room.Count == 20 && team.Count == 20;
            },
            () => $"room {handler.Room.Count}, team {team.Count}", cancellationToken: timeout.Token);

        Assert.All(members.Take(20), m => Assert.False(m.IsOpen));
        Assert.All(members.Take(20), m => Assert.False(team.Contains(m) || handler.Room.Contains(m)));
        Assert.All(members.Skip(20), m => Assert.True(team.Contains(m) && handler.Room.Contains(m)));
        Assert.False(team.Add(members[5]), "a closed session joined a group");

        // Only the members that are left receive the group's datagram.
        byte[] snapshot = Snapshot(3);
        Assert.Equal(20, team.Send(snapshot));
        for (int i = 20; i < Count; i++)
        {
            clients.ExpectReply(i, snapshot);
        }

        clients.AssertNothingPending(TimeSpan.FromMilliseconds(50));
        team.Clear();
        Assert.Empty(team);
        Assert.Equal(20, handler.Room.Count);
        Assert.Equal(0, server.GetStatistics().HandlerErrors); // OnSessionClosing found no closing session in the room
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_broadcast_larger_than_the_send_limit_is_refused_and_counted_for_each_member(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new LobbyHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        options.MaxDatagramSize = 1_200;
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, 10);
        clients.EchoRounds(0, 1, batchSize: 10, timeout.Token);
        await Eventually.TrueAsync(() => handler.Room.Count == 10, () => $"{handler.Room.Count} in the room", cancellationToken: timeout.Token);

        Assert.Equal(0, server.Broadcast(new byte[1_201]));
        Assert.Equal(0, handler.Room.Send(new byte[5_000]));
        await Eventually.TrueAsync(() => server.GetStatistics().SendsDroppedOversized == 20, () => server.GetStatistics().ToString(), cancellationToken: timeout.Token);
        Assert.All(handler.Room, s => Assert.Equal(2, s.GetStatistics().SendsRefused));
        Assert.Throws<ArgumentException>(() => server.Broadcast(new byte[70_000])); // larger than UDP can carry: a programming error
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(50));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_group_can_hold_sessions_of_a_UDP_and_a_TCP_server_and_reaches_both(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new LobbyHandler(); // one handler, one room, two servers
        await using SessionServer udp = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        SessionServerOptions tcpOptions = TestEngines.Options(engine);
        tcpOptions.Transport = SessionTransport.Tcp;
        await using SessionServer tcp = await SessionServer.StartAsync(tcpOptions, handler, cancellationToken: timeout.Token);
        using var udpClients = new ClientGroup(udp.LocalEndPoint, 3);
        udpClients.EchoRounds(0, 1, batchSize: 3, timeout.Token);
        using TcpTestClient tcpClient = await TcpTestClient.ConnectAsync(tcp.LocalEndPoint, TcpFraming.LengthPrefix32, timeout.Token);
        await tcpClient.SendMessageAsync(new byte[] { 1 }, timeout.Token);
        Assert.Equal([1], await tcpClient.ReceiveMessageAsync(timeout.Token));
        await Eventually.TrueAsync(() => handler.Room.Count == 4, () => $"{handler.Room.Count} in the room", cancellationToken: timeout.Token);

        byte[] snapshot = Snapshot(5);
        Assert.Equal(4, await Task.Run(() => handler.Room.Send(snapshot), timeout.Token));
        ExpectOnceAtEach(udpClients, snapshot, except: -1);
        Assert.Equal(snapshot, await tcpClient.ReceiveMessageAsync(timeout.Token));
        Assert.Equal(1, tcp.Broadcast(snapshot)); // a server's broadcast reaches only its own sessions
        Assert.Equal(snapshot, await tcpClient.ReceiveMessageAsync(timeout.Token));
        udpClients.AssertNothingPending(TimeSpan.FromMilliseconds(50));
    }

    private static byte[] Snapshot(int sequence)
    {
        byte[] snapshot = new byte[200];
        BinaryPrimitives.WriteInt32LittleEndian(snapshot, sequence);
        snapshot.AsSpan(4).Fill((byte)sequence);
        return snapshot;
    }

    /// <summary>Every client but <paramref name="except"/> receives <paramref name="expected"/> as its next datagram.</summary>
    private static void ExpectOnceAtEach(ClientGroup clients, byte[] expected, int except)
    {
        for (int i = 0; i < clients.Count; i++)
        {
            if (i != except)
            {
                clients.ExpectReply(i, expected);
            }
        }
    }

    /// <summary>
    /// Every session joins one room. Datagrams are echoed, except <see cref="Quiet"/> (ignored) and those that start
    /// with <see cref="ShoutPrefix"/>, which go to the whole room but the sender.
    /// </summary>
    private sealed class LobbyHandler : SessionHandler
    {
        public static readonly byte[] ShoutPrefix = "shout:"u8.ToArray();
        public static readonly byte[] Quiet = "quiet"u8.ToArray();

        public SessionGroup Room { get; } = new();

        public ConcurrentQueue<long> Closed { get; } = new();

        public override void OnSessionAccepted(Session session) => Assert.True(Room.Add(session));

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            if (datagram.StartsWith(ShoutPrefix))
            {
                Room.Send(datagram, except: session);
            }
            else if (!datagram.SequenceEqual(Quiet))
            {
                session.Send(datagram);
            }
        }

        public override void OnSessionClosing(Session session, SessionCloseReason reason) => Assert.False(Room.Contains(session));

        public override void OnSessionClosed(Session session, SessionCloseReason reason) => Closed.Enqueue(session.Id);
    }
}
