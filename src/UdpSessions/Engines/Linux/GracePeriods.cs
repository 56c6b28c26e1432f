using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using static UdpSessions.Interop.Linux.MembarrierConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// Tells a loop when every datagram the kernel was routing by a socket's old connection has been queued. The kernel
/// looks a datagram's socket up and queues it inside one RCU read-side section, without a lock the socket's own calls
/// take: a lookup that picked a socket just before connect() changed where it goes can queue the datagram after the
/// loop's next read of that socket found it empty. Two moments need it: a retired session socket (re-connected away
/// from its peer) can still get a datagram its close() would free uncounted (seen: about 1 in 20,000 under floods),
/// and a promoted session's older datagram can still land on the listener after the read that was to be its last
/// there (seen: dozens of reordered peers per storm). membarrier(MEMBARRIER_CMD_GLOBAL) returns after an RCU grace
/// period (synchronize_rcu), i.e. after every such lookup in flight has finished; one call, on this background thread,
/// covers every socket handed in before it. Without membarrier (nohz_full kernels refuse it, seccomp may too) a fixed
/// delay stands in, which is a time, not a guarantee (docs/hardening.md).
/// </summary>
internal sealed class GracePeriods : IDisposable
{
    private const int FallbackDelayMilliseconds = 20;

    private readonly ConcurrentQueue<(EpollLoop Loop, Session Session, ILoopWork Work)> _waiting = new();
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

    /// <summary>Runs <paramref name="work"/> on <paramref name="loop"/> (posted for <paramref name="session"/>) once a grace period has passed.</summary>
    public void Wait(EpollLoop loop, Session session, ILoopWork work)
    {
        _waiting.Enqueue((loop, session, work));
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
        var batch = new List<(EpollLoop Loop, Session Session, ILoopWork Work)>();
        while (true)
        {
            _signal.Wait();
            if (_stopping)
            {
                return; // what is still waiting is released by the loops' shutdown (EpollLoop.ReleaseHeldSockets)
            }

            // Everything retired so far shares the next grace period.
            while (_waiting.TryDequeue(out (EpollLoop, Session, ILoopWork) item))
            {
                batch.Add(item);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            WaitOnce();
            foreach ((EpollLoop loop, Session session, ILoopWork work) in batch)
            {
                loop.Post(session, work);
            }

            batch.Clear();
        }
    }

    private static bool MembarrierAvailable() =>
        SyscallNumber >= 0 && Membarrier(MEMBARRIER_CMD_QUERY) is var supported && supported > 0 && (supported & MEMBARRIER_CMD_GLOBAL) != 0;

    private static nint Membarrier(int command) => Libc.Syscall(SyscallNumber, command, 0, 0);
}
