using TelemetryCollector;

// A worker that collects "name value" readings from sensors, one reading per UDP datagram or TCP frame (the
// "Listeners" entry of appsettings.json serves the same port over TCP with the same handler), and logs a summary. Everything about the server comes from the
// "UdpSessions" section of appsettings.json, the environment (UdpSessions__Port=9200) or the command line
// (--UdpSessions:Port 9200).
HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Services.Configure<CollectorOptions>(builder.Configuration.GetSection("Collector"));
builder.Services.AddSingleton<ReadingStore>();
builder.Services.AddUdpSessions<ReadingHandler>(builder.Configuration.GetSection("UdpSessions"));
builder.Services.AddHostedService<SummaryReporter>();
await builder.Build().RunAsync();
