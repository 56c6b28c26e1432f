namespace UdpSessions.Tests.Infrastructure;

/// <summary>
/// The kernel's UDP counters of this network namespace (/proc/net/snmp, /proc/net/snmp6): receive-buffer overflows
/// there mean the kernel dropped datagrams before any socket of the library could read them.
/// </summary>
public readonly record struct KernelUdpCounters(long InDatagrams, long InErrors, long RcvbufErrors, long Udp6RcvbufErrors)
{
    public static KernelUdpCounters Read()
    {
        long inDatagrams = 0, inErrors = 0, rcvbufErrors = 0, udp6RcvbufErrors = 0;
        try
        {
            string[] lines = File.ReadAllLines("/proc/net/snmp");
            for (int i = 0; i + 1 < lines.Length; i++)
            {
                if (lines[i].StartsWith("Udp: ", StringComparison.Ordinal) && lines[i + 1].StartsWith("Udp: ", StringComparison.Ordinal))
                {
                    string[] names = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    string[] values = lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    inDatagrams = Value(names, values, "InDatagrams");
                    inErrors = Value(names, values, "InErrors");
                    rcvbufErrors = Value(names, values, "RcvbufErrors");
                    break;
                }
            }

            foreach (string line in File.ReadAllLines("/proc/net/snmp6"))
            {
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 2 && parts[0] == "Udp6RcvbufErrors")
                {
                    udp6RcvbufErrors = long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return new KernelUdpCounters(inDatagrams, inErrors, rcvbufErrors, udp6RcvbufErrors);
    }

    /// <summary>
    /// Datagrams the kernel dropped on UDP sockets bound to local port <paramref name="port"/> (the server's listener and
    /// session sockets all are), with the sockets that dropped them or still hold unread bytes: "local -> remote rx=bytes drops=n".
    /// </summary>
    public static (long Drops, string Sockets) DropsOnLocalPort(int port, string? focus = null)
    {
        long total = 0;
        var sockets = new List<(long Drops, string Line)>();
        foreach (string file in new[] { "/proc/net/udp", "/proc/net/udp6" })
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(file);
            }
            catch (IOException)
            {
                continue;
            }

            foreach (string line in lines.Skip(1))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 13 || Convert.ToInt32(f[1].Split(':')[1], 16) != port)
                {
                    continue;
                }

                long drops = long.Parse(f[12], System.Globalization.CultureInfo.InvariantCulture);
                long rx = Convert.ToInt64(f[4].Split(':')[1], 16);
                total += drops;
                string remote = Address(f[2]);
                bool focused = remote == focus || remote.EndsWith(":0", StringComparison.Ordinal); // the peer's socket, the listener
                if (drops > 0 || rx > 0 || focused)
                {
                    sockets.Add((focused ? long.MaxValue : drops, $"{Address(f[1])} -> {remote} rx={rx} drops={drops}"));
                }
            }
        }

        return (total, string.Join("; ", sockets.OrderByDescending(x => x.Drops).Take(10).Select(x => x.Line)));
    }

    private static string Address(string hex)
    {
        string[] parts = hex.Split(':');
        int port = Convert.ToInt32(parts[1], 16);
        byte[] raw = Convert.FromHexString(parts[0]);
        for (int i = 0; i < raw.Length; i += 4)
        {
            Array.Reverse(raw, i, 4); // /proc prints each 32-bit word in host order
        }

        return new System.Net.IPEndPoint(new System.Net.IPAddress(raw), port).ToString();
    }

    public static KernelUdpCounters operator -(KernelUdpCounters a, KernelUdpCounters b) =>
        new(a.InDatagrams - b.InDatagrams, a.InErrors - b.InErrors, a.RcvbufErrors - b.RcvbufErrors, a.Udp6RcvbufErrors - b.Udp6RcvbufErrors);

    public KernelUdpCounters Subtract(KernelUdpCounters other) => this - other;

    private static long Value(string[] names, string[] values, string name)
    {
        int index = Array.IndexOf(names, name);
        return index > 0 && index < values.Length ? long.Parse(values[index], System.Globalization.CultureInfo.InvariantCulture) : 0;
    }
}
