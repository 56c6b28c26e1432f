namespace UdpSessions.Tests.Infrastructure;

/// <summary>Every test runs under one of these: the test's own token, cancelled after a bounded time.</summary>
public static class TestTimeout
{
    /// <summary>A source linked to the xunit test token that cancels itself after <paramref name="seconds"/>.</summary>
    public static CancellationTokenSource After(int seconds, CancellationToken testToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(testToken);
        source.CancelAfter(TimeSpan.FromSeconds(seconds));
        return source;
    }

    /// <summary>Writes a line to the test's output (shown for failures, and live with -showLiveOutput).</summary>
    public static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}
