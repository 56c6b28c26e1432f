namespace UdpSessions.Bench;

internal sealed record FloodSettings(int Rounds, int PhaseSeconds, int Clients, int Window, int FloodRate, int SourceReuse,
    int? MaxNewSessionsPerSecond, bool RequireCookie, bool Portable);
