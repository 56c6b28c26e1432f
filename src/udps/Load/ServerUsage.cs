namespace UdpSessions.Cli.Load;

/// <summary>One reading of a server's counters.</summary>
internal readonly record struct ServerSample(double CpuSeconds, long? AllocatedBytes);

/// <summary>What the server spent over the measured phase.</summary>
internal sealed record ServerUsage(double CpuSeconds, long? AllocatedBytes)
{
    public static ServerUsage Between(ServerSample start, ServerSample end) =>
        new(end.CpuSeconds - start.CpuSeconds, end.AllocatedBytes - start.AllocatedBytes);
}
