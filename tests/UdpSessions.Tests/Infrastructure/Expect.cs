namespace UdpSessions.Tests.Infrastructure;

/// <summary>Assertions whose failure message is built only on failure (some read /proc or the server's counters).</summary>
public static class Expect
{
    public static void That(bool condition, Func<string> message)
    {
        if (!condition)
        {
            Assert.Fail(message());
        }
    }
}
