namespace UdpSessions.Tests;

public class SmokeTests
{
    [Fact]
    public void Options_reject_zero_threads() =>
        Assert.Throws<ArgumentException>(() => new SessionServerOptions { IoThreads = 0 }.Validate());
}
