namespace TelemetryCollector;

/// <summary>The "Collector" section of appsettings.json.</summary>
public sealed class CollectorOptions
{
    /// <summary>How often the summary is logged.</summary>
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromSeconds(10);
}
