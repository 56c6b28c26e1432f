using System.Diagnostics;

namespace UdpSessions.Cli.Load;

/// <summary>
/// Drives real traffic at a server from many client sessions and checks every reply. The sessions are dealt round-robin
/// to a few dedicated threads, so the client's CPU use is bounded whatever the session count.
/// </summary>
internal sealed class LoadClient
{
    private readonly LoadClientOptions _options;
    private volatile LoadWorker[] _workers = [];

    public LoadClient(LoadClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    /// <summary>The phases of the running load, once it has started (for progress displays).</summary>
    public LoadSchedule? Schedule { get; private set; }

    /// <summary>The counters so far, read while the workers write them: approximate, for progress only, no latency.</summary>
    public LoadTally Snapshot()
    {
        var total = new LoadTally();
        foreach (LoadWorker worker in _workers)
        {
            total.Add(worker.Tally, withLatency: false);
        }

        return total;
    }

    public async Task<LoadResult> RunAsync(CancellationToken cancellationToken = default)
    {
        var factory = new SessionFactory(_options);
        var misroutes = new MisrouteLedger();

        // The schedule starts after the sockets exist, so opening thousands of them does not eat the warm-up.
        HandshakePhase? handshakes = null;
        List<ClientSession> sessions = _options.Dtls is null ? OpenSessions(factory) : DtlsSessionOpener.Open(factory, _options, out handshakes);
        LoadSchedule schedule = LoadSchedule.StartingNow(_options);
        int threads = Math.Min(_options.Threads, sessions.Count);
        LoadWorker[] workers = new LoadWorker[threads];
        for (int t = 0; t < threads; t++)
        {
            ClientSession[] share = [.. sessions.Where((_, i) => i % threads == t)];
            foreach (ClientSession session in share)
            {
                session.StartAt = schedule.SessionStart(session.Index, sessions.Count);
            }

            workers[t] = new LoadWorker(share, _options, factory, misroutes, (_options.Rate ?? 0) * share.Length / sessions.Count, ReplyTimeline.For(schedule));
        }

        _workers = workers;
        Schedule = schedule;
        try
        {
            Task running = Task.WhenAll(workers.Select(w => Task.Factory.StartNew(
                () => w.Run(schedule, cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
            ServerUsage? server = _options.Probe is ServerProbe probe ? await SampleServerAsync(probe, schedule, running, cancellationToken) : null;
            await running;

            var total = new LoadTally();
            foreach (LoadWorker worker in workers)
            {
                total.Add(worker.Tally);
            }

            long measureEnd = Math.Min(Stopwatch.GetTimestamp(), schedule.SendEnd);
            TimeSpan measured = measureEnd > schedule.MeasureStart ? Stopwatch.GetElapsedTime(schedule.MeasureStart, measureEnd) : TimeSpan.Zero;
            ReplyTimeline timeline = ReplyTimeline.Sum([.. workers.Select(w => w.Timeline)]);
            return new LoadResult(_options, total, timeline, measured, factory.Opened, server, cancellationToken.IsCancellationRequested) { Handshakes = handshakes };
        }
        finally
        {
            foreach (LoadWorker worker in workers)
            {
                worker.Dispose();
            }
        }
    }

    /// <summary>Samples the server exactly at the edges of the measured phase (or at cancellation), so its figures cover the same window as the rates.</summary>
    private static async Task<ServerUsage?> SampleServerAsync(ServerProbe probe, LoadSchedule schedule, Task running, CancellationToken cancellationToken)
    {
        try
        {
            await DelayUntilAsync(schedule.MeasureStart, cancellationToken);
            ServerSample start = probe.Sample();
            await Task.WhenAny(running, DelayUntilAsync(schedule.SendEnd, cancellationToken));
            ServerSample end = probe.Sample();
            return ServerUsage.Between(start, end);
        }
        catch (OperationCanceledException)
        {
            return null; // cancelled before the measured phase began
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null; // the server went away (or its stats file did): the load's own figures still stand
        }
    }

    private static Task DelayUntilAsync(long timestamp, CancellationToken cancellationToken)
    {
        long remaining = timestamp - Stopwatch.GetTimestamp();
        return remaining <= 0 ? Task.CompletedTask : Task.Delay(TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency), cancellationToken);
    }

    private List<ClientSession> OpenSessions(SessionFactory factory)
    {
        var sessions = new List<ClientSession>(_options.Sessions);
        try
        {
            for (int i = 0; i < _options.Sessions; i++)
            {
                sessions.Add(factory.Open(0));
            }

            return sessions;
        }
        catch
        {
            foreach (ClientSession session in sessions)
            {
                session.Dispose();
            }

            throw;
        }
    }
}
