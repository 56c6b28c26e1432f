using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using TelemetryCollector;
using UdpSessions;

// A worker that collects "name value" readings from sensors, one reading per UDP datagram or TCP frame (the
// "Listeners" entry of appsettings.json serves the same port over TCP with the same handler), and logs a summary. Everything about the server comes from the
// "UdpSessions" section of appsettings.json, the environment (UdpSessions__Port=9200) or the command line
// (--UdpSessions:Port 9200).
HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Services.Configure<CollectorOptions>(builder.Configuration.GetSection("Collector"));
builder.Services.AddSingleton<ReadingStore>();
builder.Services.AddUdpSessions<ReadingHandler>(builder.Configuration.GetSection("UdpSessions"));
builder.Services.AddHostedService<SummaryReporter>();

// The servers' metrics (the "UdpSessions" meter) through OpenTelemetry, served for Prometheus to scrape at
// http://127.0.0.1:9464/metrics ("Metrics" in appsettings.json). To push to an OpenTelemetry collector instead, swap
// AddPrometheusHttpListener for AddOtlpExporter (package OpenTelemetry.Exporter.OpenTelemetryProtocol).
builder.Services.AddOpenTelemetry()
    .ConfigureResource(resource => resource.AddService("TelemetryCollector"))
    .WithMetrics(metrics => metrics
        .AddMeter(UdpSessionsMetrics.MeterName)
        .AddPrometheusHttpListener(prometheus =>
        {
            prometheus.Host = builder.Configuration.GetValue("Metrics:PrometheusHost", "127.0.0.1");
            prometheus.Port = builder.Configuration.GetValue("Metrics:PrometheusPort", 9464);
        }));
await builder.Build().RunAsync();
