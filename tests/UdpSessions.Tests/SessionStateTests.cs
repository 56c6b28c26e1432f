using System.Net;
using System.Net.Sockets;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>What a session and a server report while they end: never an undefined close reason, never a hung accept.</summary>
public class SessionStateTests
{
    /// <summary>
    /// Sessions closed from one thread while another reads CloseReason and calls SendAsync as fast as it can: a closed
    /// session always reports a defined reason (the state and the reason change in one atomic write), and
    /// SessionClosedException carries it.
    /// </summary>
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_closing_session_never_reports_an_undefined_reason(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Peers = 2_000;
        var handler = new RecordingHandler { Echo = false };
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Peers);
        for (int i = 0; i < Peers; i++)
        {
            clients.SendSequence(i, 0);
        }

        await Eventually.TrueAsync(() => handler.Sessions.Count == Peers, () => $"{handler.Sessions.Count} sessions", cancellationToken: timeout.Token);
        Session[] sessions = [.. handler.Sessions.Values.Select(r => r.Session)];
        var undefined = new List<string>();
        using var go = new Barrier(2);
        Task watcher = Task.Run(() =>
        {
            go.SignalAndWait(timeout.Token);
            foreach (Session session in sessions)
            {
                while (true)
                {
                    SessionCloseReason? reason = session.CloseReason;
                    if (reason is not null)
                    {
                        if (!Enum.IsDefined(reason.Value))
                        {
                            undefined.Add($"CloseReason {(int)reason.Value}");
                        }

                        break;
                    }

                    try
                    {
                        session.SendAsync(ReadOnlyMemory<byte>.Empty, timeout.Token).AsTask().GetAwaiter().GetResult();
                    }
                    catch (SessionClosedException closed) when (!Enum.IsDefined(closed.Reason))
                    {
                        undefined.Add($"SessionClosedException.Reason {(int)closed.Reason}");
                    }
                    catch (SessionClosedException)
                    {
                    }
                }
            }
        }, timeout.Token);
        Task closer = Task.Run(() =>
        {
            go.SignalAndWait(timeout.Token);
            foreach (Session session in sessions)
            {
                session.Close();
            }
        }, timeout.Token);

        await Task.WhenAll(watcher, closer);
        Assert.Empty(undefined);
        Assert.All(sessions, s => Assert.Equal(SessionCloseReason.ClosedByApplication, s.CloseReason));
    }

    /// <summary>
    /// A StopAsync whose token fires still stops the server, and the async API notices: a pending AcceptAsync and every
    /// later one end with the server-stopped error instead of waiting for ever.
    /// </summary>
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task A_cancelled_StopAsync_still_ends_pending_and_later_accepts(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), cancellationToken: timeout.Token);
        try
        {
            // One session whose I/O thread is kept busy for a while, so that the stop is still under way when the
            // caller stops waiting for it.
            using var client = new ClientGroup(server.LocalEndPoint, 1);
            client.SendSequence(0, 0);
            Session session = await server.AcceptAsync(timeout.Token);
            ValueTask<Session> pending = server.AcceptAsync(timeout.Token);
            Assert.True(session.Post(_ => Thread.Sleep(500)));
            await Task.Delay(50, timeout.Token);

            using var cancelled = new CancellationTokenSource();
            await cancelled.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await server.StopAsync(cancelled.Token));

            await Assert.ThrowsAsync<InvalidOperationException>(async () => await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(10), timeout.Token));
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await server.AcceptAsync(timeout.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(10), timeout.Token));
            Assert.Empty(await server.AcceptAllAsync(timeout.Token).ToListAsync(timeout.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(10), timeout.Token));
            Assert.Equal(SessionCloseReason.ServerShutdown, session.CloseReason);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>
    /// A session is a 4-tuple: on a wildcard listener, one client socket that writes to two addresses of the server has
    /// two sessions, each answering from the address it was written to.
    /// </summary>
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.Epoll), MemberType = typeof(TestEngines))]
    public async Task One_client_writing_to_two_server_addresses_has_two_sessions(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        foreach (IPAddress listenOn in new[] { IPAddress.Any, IPAddress.IPv6Any })
        {
            var handler = new RecordingHandler();
            await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine, new IPEndPoint(listenOn, 0)), handler, cancellationToken: timeout.Token);
            int port = server.LocalEndPoint.Port;
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            IPEndPoint[] targets = [new(IPAddress.Parse("127.0.0.1"), port), new(IPAddress.Parse("127.0.0.2"), port)];
            byte[] buffer = new byte[64];
            for (int sequence = 0; sequence < 6; sequence++)
            {
                IPEndPoint target = targets[sequence % 2];
                byte[] payload = ClientGroup.Payload(7, sequence);
                client.SendTo(payload, target);
                Expect.That(client.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead), () => $"no reply to {sequence} sent to {target}: {server.GetStatistics()}");
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                int length = client.ReceiveFrom(buffer, ref from);
                Assert.Equal(target, from);
                Assert.Equal(payload, buffer[..length]);
            }

            Assert.Equal(2, handler.Sessions.Count);
            Assert.Equal(targets.Select(t => t.ToString()).Order(), handler.Sessions.Values.Select(r => Endpoints.Normalize(r.Session.LocalEndPoint).ToString()).Order());
            Assert.All(handler.Sessions.Values, r => Assert.Equal(3, r.Datagrams));
        }
    }
}
