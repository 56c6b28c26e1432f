using UdpSessions.Interop.Linux;

namespace UdpSessions.Forwarding;

/// <summary>
/// How many upstream sockets a forwarder opens at most. A UDP forwarder that knows nothing of the protocol needs one
/// source port, so one fd, per client session toward its upstream; when the process runs out of fds the runtime
/// itself can no longer start a thread (.NET aborts with "Out of memory."), so by default the forwarder leaves
/// <see cref="Reserve"/> fds of the soft limit to everything else and treats its budget as exhaustion: new sessions'
/// datagrams are held, then dropped and counted (<see cref="ForwardDropReason.NoUpstreamSocket"/>).
/// </summary>
internal sealed class UpstreamSocketBudget(int limit)
{
    /// <summary>Fds of the soft limit left to the runtime, the listeners and the client side's own sockets.</summary>
    public const int Reserve = 512;

    private int _open;

    public int Limit { get; } = limit;

    public int Open => Volatile.Read(ref _open);

    /// <summary>The budget for <paramref name="configured"/> (null: the soft fd limit less <see cref="Reserve"/>, at least 16).</summary>
    public static unsafe UpstreamSocketBudget For(int? configured)
    {
        if (configured is int given)
        {
            return new UpstreamSocketBudget(given);
        }

        RLimit limit;
        if (!OperatingSystem.IsLinux() || Libc.GetRLimit(RLimit.NoFile, &limit) != 0 || limit.Current > int.MaxValue)
        {
            return new UpstreamSocketBudget(int.MaxValue);
        }

        return new UpstreamSocketBudget(Math.Max(16, (int)limit.Current - Reserve));
    }

    public bool TryReserve()
    {
        if (Interlocked.Increment(ref _open) <= Limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _open);
        return false;
    }

    public void Release() => Interlocked.Decrement(ref _open);
}
