using System.Globalization;
using System.Text.RegularExpressions;

namespace UdpSessions.Bench;

/// <summary>What the soak watches in the server process: RSS and fds from /proc, GC heap and sessions from its log.</summary>
internal sealed partial class ServerProbe(int pid, string logPath)
{
    public bool IsAlive => Directory.Exists($"/proc/{pid}");

    public long RssKiB()
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }

    public int Fds() => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;

    /// <summary>gcHeapKiB and active= of the server's latest per-second line, or -1 when there is none yet.</summary>
    public (long GcHeapKiB, long Active) LatestLine()
    {
        string? last = null;
        using (var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var reader = new StreamReader(stream))
        {
            while (reader.ReadLine() is { } line)
            {
                if (line.Contains("gcHeapKiB=", StringComparison.Ordinal))
                {
                    last = line;
                }
            }
        }

        if (last is null)
        {
            return (-1, -1);
        }

        return (Field(GcHeap(), last), Field(Active(), last));
    }

    private static long Field(Regex pattern, string line) =>
        pattern.Match(line) is { Success: true } match ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : -1;

    [GeneratedRegex(@"gcHeapKiB=(\d+)")]
    private static partial Regex GcHeap();

    [GeneratedRegex(@"active=(\d+)")]
    private static partial Regex Active();
}
