using System.Net;
using Lobby;
using UdpSessions;

// The lobby on UDP port 9000 (or the port given): idle sessions (no datagram for 10 s) close, players without input
// for 30 s are kicked. "kick ID" on stdin kicks a player by session id.
int port = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 9000;
await using SessionServer server = await SessionServer.StartAsync(
    new SessionServerOptions { EndPoint = new IPEndPoint(IPAddress.Any, port), IdleTimeout = TimeSpan.FromSeconds(10), MaxDatagramSize = 1200 },
    new LobbyHandler(afkLimit: TimeSpan.FromSeconds(30)));
Console.WriteLine($"lobby on {server.LocalEndPoint}; type \"kick ID\", \"list\" or \"quit\"");

while (Console.ReadLine() is { } line && line != "quit")
{
    if (line.StartsWith("kick ", StringComparison.Ordinal) && long.TryParse(line[5..], out long id) && server.TryGetSession(id, out Session? player))
    {
        player.Close("kicked", "kicked by an admin"u8);
    }
    else if (line == "list")
    {
        foreach (Session session in server.Sessions)
        {
            Console.WriteLine($"{session.Id} {session.RemoteEndPoint} {session.GetStatistics()}");
        }
    }
}
