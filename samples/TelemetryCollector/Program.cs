using TelemetryCollector;

// A worker that collects "name value" readings from sensors, one reading per datagram (or per frame over TCP: set
// UdpSessions:Transport to Tcp), and logs a summary per metric. Everything about the server comes from the
// "UdpSessions" section of appsettings.json, the environment (UdpSessions__Port=9200) or the command line
// (--UdpSessions:Port 9200).
HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Services.Configure<CollectorOptions>(builder.Configuration.GetSection("Collector"));
builder.Services.AddSingleton<ReadingStore>();
builder.Services.AddUdpSessions<ReadingHandler>(builder.Configuration.GetSection("UdpSessions"));
builder.Services.AddHostedService<SummaryReporter>();
await builder.Build().RunAsync();
