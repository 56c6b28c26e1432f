using System.Runtime.InteropServices;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>getrlimit/setrlimit(RLIMIT_NOFILE) of this process (Linux, x86-64/arm64: rlim_t is 64-bit).</summary>
internal static unsafe partial class ProcessLimits
{
    private const int RlimitNoFile = 7;

    public static (ulong Soft, ulong Hard) GetOpenFiles()
    {
        RLimit limit;
        if (GetRLimit(RlimitNoFile, &limit) != 0)
        {
            throw new InvalidOperationException($"getrlimit failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return (limit.Current, limit.Max);
    }

    /// <summary>Sets the soft limit (it can go back up to the hard limit later without privileges).</summary>
    public static void SetOpenFilesSoft(ulong soft)
    {
        (_, ulong hard) = GetOpenFiles();
        RLimit limit = new() { Current = soft, Max = hard };
        if (SetRLimit(RlimitNoFile, &limit) != 0)
        {
            throw new InvalidOperationException($"setrlimit({soft}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>The soft limit at which exactly <paramref name="free"/> descriptor numbers are still unused below it.</summary>
    public static ulong SoftLimitLeaving(int free)
    {
        int[] open = ProcessLimits.OpenFdNumbers();
        var used = new HashSet<int>(open);
        int limit = 0, unused = 0;
        while (unused < free || limit <= open[^1])
        {
            if (!used.Contains(limit))
            {
                unused++;
                if (unused > free)
                {
                    break;
                }
            }

            limit++;
        }

        return (ulong)limit;
    }

    /// <summary>Open descriptor numbers (from /proc/self/fd).</summary>
    public static int[] OpenFdNumbers() =>
        [.. Directory.GetFileSystemEntries("/proc/self/fd").Select(path => int.Parse(Path.GetFileName(path), System.Globalization.CultureInfo.InvariantCulture)).Order()];

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, RLimit* limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, RLimit* limit);

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }
}
