using UdpSessions.Cli.Interop.Linux;

namespace UdpSessions.Cli.Load;

/// <summary>Every client session is a socket, so the soft fd limit (often 1024) caps the session count unless raised.</summary>
internal static class FdLimit
{
    /// <summary>Raises the soft limit to the hard one on Linux; returns the soft limit in force afterwards, or null where unknown.</summary>
    public static unsafe long? RaiseSoftToHard()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        Libc.RLimit limit;
        if (Libc.GetRLimit(Libc.RlimitNoFile, &limit) != 0)
        {
            return null;
        }

        if (limit.Current < limit.Maximum)
        {
            var raised = new Libc.RLimit { Current = limit.Maximum, Maximum = limit.Maximum };
            if (Libc.SetRLimit(Libc.RlimitNoFile, &raised) == 0)
            {
                limit = raised;
            }
        }

        return (long)Math.Min(limit.Current, long.MaxValue);
    }
}
