using System.Collections.Concurrent;

namespace UdpSessions.Dtls.Handshake;

/// <summary>
/// The threads BouncyCastle's blocking handshakes run on. A handshake holds its thread from the ClientHello to the
/// Finished, waiting in <see cref="HandshakeJob.Receive(byte[], int, int, int)"/> for the peer's next flight, so the
/// pool grows on demand up to the number of handshakes allowed at once (<see cref="DtlsOptions.MaxConcurrentHandshakes"/>)
/// and idle threads leave after a while. No thread exists for an established session.
/// </summary>
internal sealed class HandshakeWorkers(int maxThreads) : IDisposable
{
    private const int IdleMilliseconds = 30_000;
    private const int StackSize = 512 * 1024;

    private readonly ConcurrentQueue<HandshakeJob> _jobs = new();
    private readonly SemaphoreSlim _ready = new(0);
    private int _threads;
    private int _idle;
    private volatile bool _stopped;

    /// <summary>Threads alive now (for tests and diagnostics).</summary>
    public int Threads => Volatile.Read(ref _threads);

    public void Run(HandshakeJob job)
    {
        _jobs.Enqueue(job);
        if (Volatile.Read(ref _idle) == 0)
        {
            TryStartThread();
        }

        _ready.Release();
    }

    public void Dispose()
    {
        _stopped = true;
        _ready.Release(Math.Max(1, Volatile.Read(ref _threads)));
    }

    private void TryStartThread()
    {
        int threads = Volatile.Read(ref _threads);
        while (threads < maxThreads)
        {
            if (Interlocked.CompareExchange(ref _threads, threads + 1, threads) == threads)
            {
                new Thread(Work, StackSize) { IsBackground = true, Name = "udps-dtls-handshake" }.Start();
                return;
            }

            threads = Volatile.Read(ref _threads);
        }
    }

    private void Work()
    {
        while (!_stopped)
        {
            Interlocked.Increment(ref _idle);
            bool signalled = _ready.Wait(IdleMilliseconds);
            Interlocked.Decrement(ref _idle);
            if (_jobs.TryDequeue(out HandshakeJob? job))
            {
                job.Run();
            }
            else if (!signalled)
            {
                break; // idle long enough
            }
        }

        Interlocked.Decrement(ref _threads);

        // A job enqueued while this thread was leaving saw it as busy and started none: make sure one runs it.
        if (!_stopped && !_jobs.IsEmpty && Volatile.Read(ref _idle) == 0)
        {
            TryStartThread();
        }
    }
}
