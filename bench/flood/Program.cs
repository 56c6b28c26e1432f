using System.CommandLine;
using UdpSessions.Bench;

var rounds = new Option<int>("--rounds") { Description = "Undisturbed/flood phase pairs.", DefaultValueFactory = _ => 3 };
var phase = new Option<int>("--phase-seconds") { Description = "Seconds per phase.", DefaultValueFactory = _ => 5 };
var clients = new Option<int>("--clients") { Description = "Established sessions.", DefaultValueFactory = _ => 16 };
var window = new Option<int>("--window") { Description = "Requests in flight per established session.", DefaultValueFactory = _ => 4 };
var floodRate = new Option<int>("--flood-rate") { Description = "Flood datagrams per second (0: as fast as one thread can).", DefaultValueFactory = _ => 20_000 };
var reuse = new Option<int>("--flood-source-reuse") { Description = "Datagrams each flood source sends before it is replaced by a new one.", DefaultValueFactory = _ => 8 };
var newRate = new Option<int?>("--max-new-sessions-per-second") { Description = "The server's new-session rate limit (default 200; 0 turns it off).", DefaultValueFactory = _ => 200 };
var cookie = new Option<bool>("--require-cookie") { Description = "Validate new peers with the cookie accept filter (the flood never proves its address)." };
var engine = new Option<string>("--engine") { Description = "epoll or portable.", DefaultValueFactory = _ => "epoll" };
engine.AcceptOnlyFromAmong("epoll", "portable");

var root = new RootCommand("Flood benchmark: established-session echo throughput during a flood of new sources, as a ratio of the same run undisturbed.")
{
    rounds, phase, clients, window, floodRate, reuse, newRate, cookie, engine,
};
root.SetAction((parse, cancellationToken) => FloodRun.ExecuteAsync(
    new FloodSettings(parse.GetValue(rounds), parse.GetValue(phase), parse.GetValue(clients), parse.GetValue(window), parse.GetValue(floodRate),
        Math.Max(1, parse.GetValue(reuse)), parse.GetValue(newRate) is int r && r > 0 ? r : null, parse.GetValue(cookie), parse.GetValue(engine) == "portable"),
    cancellationToken));
return await root.Parse(args).InvokeAsync();
