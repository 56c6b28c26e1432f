using System.CommandLine;
using UdpSessions.Bench;

var sessions = new Option<int>("--sessions") { Description = "Sessions in the room.", DefaultValueFactory = _ => 1_000 };
var size = new Option<int>("--size") { Description = "Bytes per snapshot.", DefaultValueFactory = _ => 200 };
var rate = new Option<int>("--rate") { Description = "Snapshots (ticks) per second.", DefaultValueFactory = _ => 100 };
var warmup = new Option<double>("--warmup") { Description = "Warm-up seconds per run.", DefaultValueFactory = _ => 2 };
var seconds = new Option<double>("--seconds") { Description = "Measured seconds per run.", DefaultValueFactory = _ => 6 };
var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds over every configuration.", DefaultValueFactory = _ => 3 };
var only = new Option<string?>("--only") { Description = "Only configurations whose name contains this (e.g. Portable, IoTimer)." };
var json = new Option<string?>("--json") { Description = "Also write every run's figures to this JSON file." };
var config = new Option<string>("--config") { Description = "server role: the configuration (Server/Origin/Method)." };

BroadcastSettings Settings(ParseResult parse) =>
    new(parse.GetValue(sessions), parse.GetValue(size), parse.GetValue(rate), parse.GetValue(warmup), parse.GetValue(seconds));

var server = new Command("server", "One server process (started by the benchmark itself).") { config, sessions, size, rate, warmup, seconds };
server.Hidden = true;
server.SetAction((parse, _) => ServerRole.RunAsync(BroadcastConfig.Parse(parse.GetValue(config)!), Settings(parse)));

var root = new RootCommand("Broadcast benchmark: server CPU per delivered datagram, SessionGroup.Send vs a loop of Session.Send, one snapshot to every session per tick.")
{
    sessions, size, rate, warmup, seconds, rounds, only, json, server,
};
root.SetAction(parse => BroadcastRun.Execute(Settings(parse), parse.GetValue(rounds), parse.GetValue(only), parse.GetValue(json)));
return await root.Parse(args).InvokeAsync();
