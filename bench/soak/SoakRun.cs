using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace UdpSessions.Bench;

/// <summary>Runs the traffic, samples the server every interval, and judges whether everything stayed flat.</summary>
internal static class SoakRun
{
    public static int Execute(SoakSettings settings, CancellationToken cancellationToken)
    {
        var target = new IPEndPoint(IPAddress.Loopback, settings.Port);
        var probe = new ServerProbe(settings.ServerPid, settings.ServerLog);
        using var steady = new SteadyClients(target, settings.Clients, settings.Window, 64);
        var churn = new Churn(target, settings.ChurnPerSecond);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var threads = new[] { new Thread(() => steady.Run(stop.Token)), new Thread(() => churn.Run(stop.Token)) };
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        var samples = new List<Sample>();
        var clock = Stopwatch.StartNew();
        long lastReplies = 0;
        TimeSpan lastTime = TimeSpan.Zero;
        Console.WriteLine("  time     rss MiB   fds   gc heap MiB   sessions   steady replies/s   churn sessions");
        while (clock.Elapsed < TimeSpan.FromSeconds(settings.DurationSeconds) && !cancellationToken.IsCancellationRequested && probe.IsAlive)
        {
            Thread.Sleep(settings.Interval);
            TimeSpan now = clock.Elapsed;
            long replies = steady.Replies;
            (long heap, long active) = probe.LatestLine();
            var sample = new Sample(now.TotalSeconds, probe.RssKiB() / 1024.0, probe.Fds(), heap / 1024.0, active,
                (replies - lastReplies) / (now - lastTime).TotalSeconds);
            (lastReplies, lastTime) = (replies, now);
            samples.Add(sample);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{sample.Seconds,6:F0}s {sample.RssMiB,9:F1} {sample.Fds,5} {sample.GcHeapMiB,13:F1} {sample.Sessions,10} {sample.Throughput,18:F0} {churn.Sessions,16}"));
        }

        bool alive = probe.IsAlive;
        stop.Cancel();
        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        return SoakVerdict.Judge(samples, alive, steady, churn) ? 0 : 1;
    }
}

internal readonly record struct Sample(double Seconds, double RssMiB, int Fds, double GcHeapMiB, long Sessions, double Throughput);
