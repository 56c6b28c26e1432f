using System.Globalization;
using UdpSessions.Cli.Echo;

namespace UdpSessions.Cli.Load;

/// <summary>
/// Reads a server process's CPU time from <c>/proc/PID/stat</c> (utime + stime) and, when the server writes one, its
/// managed allocation counter from a stats file (see <see cref="AllocationStatsFile"/>). Linux only.
/// </summary>
internal sealed class ServerProbe(int processId, string? statsFile)
{
    // USER_HZ: the unit of utime/stime in /proc; 100 on every mainstream Linux architecture.
    private const double ClockTicksPerSecond = 100;

    public int ProcessId { get; } = processId;

    public ServerSample Sample()
    {
        string stat = File.ReadAllText($"/proc/{ProcessId}/stat");

        // Fields after the command name (which may hold spaces and parentheses) start after the last ')'.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long utime = long.Parse(fields[11], CultureInfo.InvariantCulture); // field 14 of the whole line
        long stime = long.Parse(fields[12], CultureInfo.InvariantCulture); // field 15
        return new ServerSample((utime + stime) / ClockTicksPerSecond, statsFile is null ? null : AllocationStatsFile.ReadAllocatedBytes(statsFile));
    }
}
