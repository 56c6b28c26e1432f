using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace UdpSessions.Cli.Load;

/// <summary>
/// What the load is doing while it runs: a live line on a terminal (Spectre.Console), one plain line a second when the
/// output is redirected, so logs stay readable.
/// </summary>
internal static class LoadProgress
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    /// <summary>Reports until <paramref name="run"/> completes; returns its result.</summary>
    public static async Task<LoadResult> ShowAsync(LoadClient client, Task<LoadResult> run, TextWriter plain, bool live)
    {
        if (!live)
        {
            var sampler = new Sampler(client);
            while (await Task.WhenAny(run, Task.Delay(Period)) != run)
            {
                if (sampler.Next() is string line)
                {
                    await plain.WriteLineAsync(line);
                }
            }

            return await run;
        }

        return await AnsiConsole.Live(new Text("starting...")).StartAsync(async context =>
        {
            var sampler = new Sampler(client);
            while (await Task.WhenAny(run, Task.Delay(Period / 2)) != run)
            {
                if (sampler.Next() is string line)
                {
                    context.UpdateTarget(new Text(line));
                }
            }

            return await run;
        });
    }

    /// <summary>Turns two snapshots of the counters into a line of rates.</summary>
    private sealed class Sampler(LoadClient client)
    {
        private LoadTally? _previous;
        private long _previousAt;

        public string? Next()
        {
            if (client.Schedule is not LoadSchedule schedule)
            {
                return null;
            }

            if (_previous is null)
            {
                (_previous, _previousAt) = (new LoadTally(), schedule.Start);
            }

            LoadTally now = client.Snapshot();
            long at = Stopwatch.GetTimestamp();
            double seconds = Stopwatch.GetElapsedTime(_previousAt, at).TotalSeconds;
            double replies = seconds > 0 ? (now.Replies - _previous.Replies) / seconds : 0;
            double accepted = seconds > 0 ? (now.SessionsAccepted - _previous.SessionsAccepted) / seconds : 0;
            (_previous, _previousAt) = (now, at);
            string phase = at < schedule.MeasureStart ? "warm-up" : at < schedule.SendEnd ? "measuring" : "draining";
            double elapsed = Stopwatch.GetElapsedTime(schedule.Start, at).TotalSeconds;
            return string.Create(CultureInfo.InvariantCulture,
                $"{elapsed,6:F1} s {phase,-9} replies/s={replies:F0} sessions/s={accepted:F0} sent={now.Sent} lost={now.Lost} " +
                $"corrupt={now.Corrupt} misrouted={now.WrongSession} duplicated={now.Duplicates}");
        }
    }
}
