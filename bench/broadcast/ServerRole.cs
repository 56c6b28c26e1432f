using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace UdpSessions.Bench;

/// <summary>
/// The server process of one run: every session joins one room; after "GO" on stdin it sends one snapshot to the
/// whole room per tick (warm-up ticks, then measured ticks) and reports the process's CPU time over the measured ticks,
/// until everything they sent has left.
/// Protocol on stdout: "PORT p", "READY" once every session joined, then "RESULT ..." once done.
/// </summary>
internal static class ServerRole
{
    public static async Task<int> RunAsync(BroadcastConfig config, BroadcastSettings settings)
    {
        var handler = new RoomHandler();
        var options = new SessionServerOptions
        {
            EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            Engine = config.Server == ServerKind.Portable ? EngineKind.Portable : EngineKind.Epoll,
            Placement = config.Server == ServerKind.EpollOwnSocket ? SessionPlacement.OwnSocket : SessionPlacement.AddressMap,
            IoThreads = 1, // the process is pinned to one CPU
            IdleTimeout = Timeout.InfiniteTimeSpan,
            MaxDatagramSize = Math.Max(settings.Size, 64),
        };
        await using SessionServer server = await SessionServer.StartAsync(options, handler);
        Console.WriteLine($"PORT {server.LocalEndPoint.Port}");

        var deadline = Stopwatch.StartNew();
        while (handler.Room.Count < settings.Sessions && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(10);
        }

        if (config.Server == ServerKind.EpollOwnSocket)
        {
            while (server.GetStatistics().SessionsPromoted < settings.Sessions && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(10);
            }
        }

        Console.WriteLine($"READY {handler.Room.Count} {server.GetStatistics().SessionsPromoted}");
        if (Console.ReadLine() != "GO")
        {
            return 2;
        }

        ServerStatistics before = server.GetStatistics();
        var ticker = new Ticker(handler.Room, config.Method, settings);
        if (config.Origin == TickOrigin.AppThread)
        {
            var thread = new Thread(ticker.RunPaced) { IsBackground = true, Name = "app-tick" };
            thread.Start();
        }
        else
        {
            Session host = handler.Room.First();
            host.Schedule(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1000.0 / settings.Rate), _ => ticker.Tick());
        }

        await ticker.Done.Task.WaitAsync(TimeSpan.FromSeconds(settings.WarmupSeconds + settings.Seconds + 60));

        // Everything handed over (posted to the I/O thread, or queued in its batch) has left, or was refused.
        long expected = (long)settings.TotalTicks * settings.Sessions;
        static long Handled(ServerStatistics s) =>
            s.DatagramsSent + s.SendsDroppedBufferFull + s.SendsDroppedSessionClosed + s.SendsDroppedOversized + s.SendsFailed;
        long drainStart = Stopwatch.GetTimestamp();
        while (Handled(server.GetStatistics()) - Handled(before) < expected && Stopwatch.GetElapsedTime(drainStart) < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(1);
        }

        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - ticker.CpuAtMeasuredStart;
        ServerStatistics after = server.GetStatistics();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT cpuMicros={cpu.TotalMicroseconds:F0} measuredTicks={settings.MeasuredTicks} firstMeasured={settings.WarmupTicks} " +
            $"sent={after.DatagramsSent - before.DatagramsSent} refused={Handled(after) - Handled(before) - (after.DatagramsSent - before.DatagramsSent)} " +
            $"lateTicks={ticker.LateTicks} callerMicrosPerTick={ticker.CallerTicks * 1e6 / Stopwatch.Frequency / settings.MeasuredTicks:F1}"));
        Console.Out.Flush();
        Console.ReadLine(); // the clients have counted; stop
        return 0;
    }

    /// <summary>Every session joins the room; its first datagram is answered so the client knows.</summary>
    private sealed class RoomHandler : SessionHandler
    {
        public SessionGroup Room { get; } = new();

        public override void OnSessionAccepted(Session session) => Room.Add(session);

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) => session.Send(datagram);
    }

    /// <summary>One snapshot per tick to the room, by the method under test; counts ticks and samples the CPU at the measured start.</summary>
    private sealed class Ticker(SessionGroup room, SendMethod method, BroadcastSettings settings)
    {
        private readonly byte[] _snapshot = new byte[settings.Size];
        private int _tick;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TimeSpan CpuAtMeasuredStart { get; private set; }

        /// <summary>Stopwatch ticks the caller spent in the measured ticks' sends (the time a game loop is held up).</summary>
        public long CallerTicks { get; private set; }

        /// <summary>Ticks that started more than a period late (the sender could not keep the rate).</summary>
        public int LateTicks { get; private set; }

        public void Tick()
        {
            int tick = _tick;
            if (tick >= settings.TotalTicks)
            {
                return;
            }

            if (tick == settings.WarmupTicks)
            {
                CpuAtMeasuredStart = Process.GetCurrentProcess().TotalProcessorTime;
            }

            BinaryPrimitives.WriteInt32LittleEndian(_snapshot, tick);
            long started = Stopwatch.GetTimestamp();
            if (method == SendMethod.Group)
            {
                room.Send(_snapshot);
            }
            else
            {
                foreach (Session session in room)
                {
                    session.Send(_snapshot);
                }
            }

            if (tick >= settings.WarmupTicks)
            {
                CallerTicks += Stopwatch.GetTimestamp() - started;
            }

            _tick = tick + 1;
            if (_tick == settings.TotalTicks)
            {
                Done.TrySetResult();
            }
        }

        /// <summary>An application's game loop: a tick every 1/rate seconds on its own thread.</summary>
        public void RunPaced()
        {
            long period = Stopwatch.Frequency / settings.Rate;
            long next = Stopwatch.GetTimestamp();
            while (_tick < settings.TotalTicks)
            {
                long now = Stopwatch.GetTimestamp();
                if (now < next)
                {
                    // Whole milliseconds, at least one: a shorter sleep is a yield, and a spinning loop would be
                    // counted as the server's CPU.
                    Thread.Sleep((int)Math.Ceiling((next - now) * 1000.0 / Stopwatch.Frequency));
                    continue;
                }

                if (now - next > period)
                {
                    LateTicks++;
                }

                Tick();
                next += period;
            }
        }
    }
}
