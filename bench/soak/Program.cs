using System.CommandLine;
using UdpSessions.Bench;

var port = new Option<int>("--port") { Description = "Port of the udps echo server on 127.0.0.1.", Required = true };
var pid = new Option<int>("--server-pid") { Description = "Process id of the server (RSS and fds are read from /proc).", Required = true };
var log = new Option<string>("--server-log") { Description = "The server's stdout (its per-second lines carry gcHeapKiB and active).", Required = true };
var duration = new Option<int>("--duration") { Description = "Seconds of traffic.", DefaultValueFactory = _ => 600 };
var interval = new Option<int>("--interval") { Description = "Seconds between samples (default: duration / 30, at least 2).", DefaultValueFactory = _ => 0 };
var churn = new Option<int>("--churn-per-second") { Description = "New short-lived sessions per second.", DefaultValueFactory = _ => 200 };
var clients = new Option<int>("--clients") { Description = "Steady (long-lived) sessions.", DefaultValueFactory = _ => 16 };
var window = new Option<int>("--window") { Description = "Requests in flight per steady session.", DefaultValueFactory = _ => 4 };

var root = new RootCommand("Soak driver: steady echo traffic plus session churn against udps echo; samples the server and judges flatness.")
{
    port, pid, log, duration, interval, churn, clients, window,
};
root.SetAction((parse, cancellationToken) =>
{
    var settings = new SoakSettings(
        parse.GetValue(port), parse.GetValue(pid), parse.GetRequiredValue(log), parse.GetValue(duration), parse.GetValue(interval),
        parse.GetValue(churn), parse.GetValue(clients), parse.GetValue(window));
    return Task.FromResult(SoakRun.Execute(settings, cancellationToken));
});
return await root.Parse(args).InvokeAsync();
