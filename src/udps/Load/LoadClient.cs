using System.Diagnostics;
using System.Net.Sockets;

namespace UdpSessions.Cli.Load;

/// <summary>
/// Drives real traffic at a server from many client sessions and checks every reply. The sessions are dealt round-robin
/// to a few dedicated threads, so the client's CPU use is bounded whatever the session count.
/// </summary>
internal sealed class LoadClient
{
    private readonly LoadClientOptions _options;

    public LoadClient(LoadClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    public async Task<LoadResult> RunAsync(CancellationToken cancellationToken = default)
    {
        // The schedule starts after the sockets exist, so opening thousands of them does not eat the warm-up.
        List<Socket> sockets = OpenSockets();
        LoadSchedule schedule = LoadSchedule.StartingNow(_options);
        var sessions = sockets.Select((socket, i) =>
            new ClientSession(i, socket, _options.DatagramSize, _options.Window, schedule.SessionStart(i, sockets.Count))).ToList();
        try
        {
            int threads = Math.Min(_options.Threads, sessions.Count);
            LoadWorker[] workers = Enumerable.Range(0, threads)
                .Select(t => new LoadWorker(
                    sessions.Where(s => s.Index % threads == t).ToArray(), _options.Window, _options.DatagramSize))
                .ToArray();
            await Task.WhenAll(workers.Select(w => Task.Factory.StartNew(
                () => w.Run(schedule, cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));

            var total = new LoadTally();
            foreach (LoadWorker worker in workers)
            {
                total.Add(worker.Tally);
            }

            long measureEnd = Math.Min(Stopwatch.GetTimestamp(), schedule.SendEnd);
            TimeSpan measured = measureEnd > schedule.MeasureStart ? Stopwatch.GetElapsedTime(schedule.MeasureStart, measureEnd) : TimeSpan.Zero;
            return new LoadResult(_options, total, measured, cancellationToken.IsCancellationRequested);
        }
        finally
        {
            foreach (ClientSession session in sessions)
            {
                session.Dispose();
            }
        }
    }

    private List<Socket> OpenSockets()
    {
        var sockets = new List<Socket>(_options.Sessions);
        try
        {
            for (int i = 0; i < _options.Sessions; i++)
            {
                var socket = new Socket(_options.Target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                sockets.Add(socket);

                // Connecting binds a fresh source port (one peer per session) and filters out datagrams from anyone else.
                socket.Connect(_options.Target);
                socket.Blocking = false;
            }

            return sockets;
        }
        catch
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }

            throw;
        }
    }
}
