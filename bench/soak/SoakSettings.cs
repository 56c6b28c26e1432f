namespace UdpSessions.Bench;

internal sealed record SoakSettings(int Port, int ServerPid, string ServerLog, int DurationSeconds, int IntervalSeconds, int ChurnPerSecond, int Clients, int Window)
{
    public TimeSpan Interval => TimeSpan.FromSeconds(IntervalSeconds > 0 ? IntervalSeconds : Math.Max(2, DurationSeconds / 30));
}
