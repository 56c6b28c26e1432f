using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using static UdpSessions.Interop.Linux.MembarrierConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// Tells a loop when a retired session socket can no longer receive anything, so that its last read is really the
/// last. The kernel looks a datagram's socket up and queues it inside one RCU read-side section, without a lock the
/// socket's own calls take: a lookup that picked the socket just before it was re-connected away can queue a datagram
/// after the loop's drain found it empty, and close() would free it uncounted (seen: about 1 in 20,000 under floods).
/// membarrier(MEMBARRIER_CMD_GLOBAL) returns after an RCU grace period (synchronize_rcu), i.e. after every such
/// lookup in flight has finished; one call, on this background thread, covers every socket retired before it.
/// Without membarrier (nohz_full kernels refuse it, seccomp may too) a fixed delay stands in, which is a time, not a
/// guarantee (docs/hardening.md).
/// </summary>
internal sealed class GracePeriods : IDisposable
{
    private const int FallbackDelayMilliseconds = 20;

    private readonly ConcurrentQueue<(EpollLoop Loop, RetiredSocket Socket)> _waiting = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Thread _thread;
    private readonly bool _membarrier = MembarrierAvailable();
    private volatile bool _stopping;

    private GracePeriods() => _thread = new Thread(Run) { IsBackground = true, Name = "udps-grace" };

    /// <summary>Starts the background thread that waits for grace periods.</summary>
    public static GracePeriods Start()
    {
        var periods = new GracePeriods();
        periods._thread.Start();
        return periods;
    }

    /// <summary>True when grace periods are the kernel's (membarrier), false when a fixed delay stands in.</summary>
    public bool Exact => _membarrier;

    /// <summary>Queues a retired socket; its loop gets it back (<see cref="EpollLoop.GracePeriodOver"/>) after a grace period.</summary>
    public void Wait(EpollLoop loop, RetiredSocket socket)
    {
        _waiting.Enqueue((loop, socket));
        _signal.Release();
    }

    /// <summary>Waits for one grace period on the calling thread (server shutdown).</summary>
    public void WaitOnce()
    {
        if (!_membarrier || Membarrier(MEMBARRIER_CMD_GLOBAL) != 0)
        {
            Thread.Sleep(FallbackDelayMilliseconds);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _signal.Release();
        _thread.Join();
        _signal.Dispose();
    }

    private void Run()
    {
        var batch = new List<(EpollLoop Loop, RetiredSocket Socket)>();
        while (true)
        {
            _signal.Wait();
            if (_stopping)
            {
                return; // what is still waiting is released by the loops' shutdown (EpollLoop.ReleaseHeldSockets)
            }

            // Everything retired so far shares the next grace period.
            while (_waiting.TryDequeue(out (EpollLoop, RetiredSocket) item))
            {
                batch.Add(item);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            WaitOnce();
            foreach ((EpollLoop loop, RetiredSocket socket) in batch)
            {
                loop.GracePeriodOver(socket);
            }

            batch.Clear();
        }
    }

    private static bool MembarrierAvailable() =>
        SyscallNumber >= 0 && Membarrier(MEMBARRIER_CMD_QUERY) is var supported && supported > 0 && (supported & MEMBARRIER_CMD_GLOBAL) != 0;

    private static nint Membarrier(int command) => Libc.Syscall(SyscallNumber, command, 0, 0);
}
