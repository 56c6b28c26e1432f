using System.Text;
using Lobby;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// The README's lobby (samples/Lobby/LobbyHandler.cs) with real players: rooms, 20 Hz snapshots to the rest of the
/// room, an AFK kick with its goodbye, goodbyes at shutdown.
/// </summary>
public class LobbyTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Players_see_their_room_only_the_idle_one_is_kicked_and_everyone_gets_a_goodbye(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        SessionServerOptions options = TestEngines.Options(engine);
        options.IdleTimeout = Timeout.InfiniteTimeSpan; // only the lobby's own AFK rule closes sessions here
        SessionServer server = await SessionServer.StartAsync(options, new LobbyHandler(afkLimit: TimeSpan.FromSeconds(2)), cancellationToken: timeout.Token);
        try
        {
            // Players 0 and 1 in room "a", player 2 alone in room "b".
            using var players = new ClientGroup(server.LocalEndPoint, 3);
            string[] rooms = ["a", "a", "b"];
            for (int i = 0; i < 3; i++)
            {
                players.Send(i, Encoding.ASCII.GetBytes($"join {rooms[i]}"));
                players.Send(i, Encoding.ASCII.GetBytes($"pos {i}.5 {i * 10}"));
            }

            await Eventually.TrueAsync(() => server.Sessions.Count == 3, () => $"{server.Sessions.Count} players", cancellationToken: timeout.Token);
            long IdOf(int player) => server.Sessions.Single(s => Endpoints.Normalize(s.RemoteEndPoint).Equals(players.LocalEndPoint(player))).Id;
            long[] ids = [IdOf(0), IdOf(1), IdOf(2)];

            // Players 0 and 1 keep moving and see each other's snapshots; player 2 says nothing more and is kicked.
            string kicked = "";
            var seen = new HashSet<string>[] { [], [] };
            for (int step = 0; step < 400 && kicked.Length == 0; step++)
            {
                for (int i = 0; i < 2; i++)
                {
                    players.Send(i, Encoding.ASCII.GetBytes($"pos {i}.5 {i * 10}"));
                    while (players.TryReceive(i, TimeSpan.FromMilliseconds(5)) is { } snapshot)
                    {
                        seen[i].Add(Encoding.ASCII.GetString(snapshot));
                    }
                }

                if (players.TryReceive(2, TimeSpan.FromMilliseconds(5)) is { } last)
                {
                    kicked = Encoding.ASCII.GetString(last); // alone in its room: nothing but the kick
                }
            }

            Assert.Equal("kicked: away from keyboard", kicked);
            Assert.Equal([$"{ids[1]} 1.5 10"], seen[0]); // only the other player of room "a", never room "b"
            Assert.Equal([$"{ids[0]} 0.5 0"], seen[1]);
            await Eventually.TrueAsync(() => server.Sessions.Count == 2, () => $"{server.Sessions.Count} players", cancellationToken: timeout.Token);
            Assert.Equal(1, server.GetStatistics().ApplicationCloseReasons["afk"]);
            Assert.False(server.TryGetSession(ids[2], out _));

            // Shutdown: both remaining players (they just moved, so they are not AFK) are told, after whatever snapshots
            // were still on the way.
            players.Send(0, "pos 0.5 0"u8);
            players.Send(1, "pos 1.5 10"u8);
            await server.StopAsync(timeout.Token);
            for (int i = 0; i < 2; i++)
            {
                string last = "";
                for (int read = 0; read < 1_000 && players.TryReceive(i, TimeSpan.FromSeconds(2)) is { } datagram; read++)
                {
                    last = Encoding.ASCII.GetString(datagram);
                }

                Assert.Equal("bye: server shutting down", last);
            }
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
