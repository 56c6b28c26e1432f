using System.Runtime.InteropServices;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>
/// Pins the calling thread to one CPU (sched_setaffinity). A sender pinned to one CPU makes loopback deliver its
/// datagrams in the order sent, peer by peer (the kernel processes one CPU's backlog in order), which is what lets an
/// ordering test hold the server to that order.
/// </summary>
internal static unsafe partial class ThreadAffinity
{
    /// <summary>Pins the current thread to <paramref name="cpu"/>; returns a scope that restores its previous mask.</summary>
    public static IDisposable Pin(int cpu)
    {
        ulong previous = 0;
        if (SchedGetAffinity(0, sizeof(ulong), &previous) != 0)
        {
            throw new InvalidOperationException($"sched_getaffinity failed: errno {Marshal.GetLastPInvokeError()}");
        }

        ulong mask = 1UL << cpu;
        if (SchedSetAffinity(0, sizeof(ulong), &mask) != 0)
        {
            throw new InvalidOperationException($"sched_setaffinity({cpu}) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return new Restore(previous);
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nuint size, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int pid, nuint size, ulong* mask);

    private sealed class Restore(ulong mask) : IDisposable
    {
        public void Dispose()
        {
            ulong copy = mask;
            _ = SchedSetAffinity(0, sizeof(ulong), &copy);
        }
    }
}
