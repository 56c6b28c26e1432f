using System.Diagnostics;

namespace UdpSessions.Cli.Commands;

/// <summary>The once-a-second rate line of the server commands (echo, forward): two snapshots and the time between them.</summary>
internal static class EverySecond
{
    /// <summary>Prints <paramref name="line"/> of the last and the current snapshot every second until the token fires.</summary>
    public static async Task ReportAsync<T>(Func<T> read, Func<T, T, TimeSpan, string> line, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        T previous = read();
        long previousTime = Stopwatch.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                T current = read();
                long now = Stopwatch.GetTimestamp();
                Console.WriteLine(line(previous, current, Stopwatch.GetElapsedTime(previousTime, now)));
                (previous, previousTime) = (current, now);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
