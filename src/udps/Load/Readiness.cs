namespace UdpSessions.Cli.Load;

/// <summary>Waits until some of a worker's client sockets have replies to read.</summary>
internal abstract class Readiness : IDisposable
{
    public static Readiness Create(int capacity) =>
        OperatingSystem.IsLinux() ? new EpollReadiness() : new SelectReadiness(capacity);

    /// <summary>Watches the session in <paramref name="slot"/> of the worker's table.</summary>
    public abstract void Add(int slot, ClientSession session);

    /// <summary>Stops watching the session in <paramref name="slot"/> (before its socket is closed).</summary>
    public abstract void Remove(int slot, ClientSession session);

    /// <summary>Fills <paramref name="readySlots"/> with the slots that have something to read; waits at most <paramref name="timeoutMs"/>.</summary>
    public abstract void Wait(List<int> readySlots, int timeoutMs);

    public virtual void Dispose()
    {
    }
}
