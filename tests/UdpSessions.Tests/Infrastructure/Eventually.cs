using System.Diagnostics;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>Polls a condition until it holds or a deadline passes; then fails with a description of the state.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Waits (asynchronously) until <paramref name="condition"/> is true; fails after <paramref name="timeout"/>.</summary>
    public static async Task TrueAsync(Func<bool> condition, Func<string> describe, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        TimeSpan limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit || cancellationToken.IsCancellationRequested)
            {
                Assert.Fail($"Condition still false after {clock.Elapsed.TotalMilliseconds:F0} ms: {describe()}");
            }

            await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Blocking variant of <see cref="TrueAsync"/>.</summary>
    public static void True(Func<bool> condition, Func<string> describe, TimeSpan? timeout = null)
    {
        TimeSpan limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                Assert.Fail($"Condition still false after {clock.Elapsed.TotalMilliseconds:F0} ms: {describe()}");
            }

            Thread.Sleep(10);
        }
    }
}
