using System.Net;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>The engine configurations the integration tests run against.</summary>
public enum TestEngine
{
    /// <summary>epoll, level-triggered (the default).</summary>
    EpollLevelTriggered,

    /// <summary>epoll, EPOLLET | EPOLLONESHOT.</summary>
    EpollEdgeTriggeredOneShot,

    /// <summary>One .NET socket and the address map.</summary>
    Portable,
}

/// <summary>Theory data and server options for <see cref="TestEngine"/>.</summary>
public static class TestEngines
{
    /// <summary>Every engine configuration.</summary>
    public static TheoryData<TestEngine> All => new() { TestEngine.EpollLevelTriggered, TestEngine.EpollEdgeTriggeredOneShot, TestEngine.Portable };

    /// <summary>The epoll engine in both modes (features that need a socket per session).</summary>
    public static TheoryData<TestEngine> Epoll => new() { TestEngine.EpollLevelTriggered, TestEngine.EpollEdgeTriggeredOneShot };

    /// <summary>True when the engine gives sessions connected sockets of their own.</summary>
    public static bool HasSessionSockets(TestEngine engine) => engine != TestEngine.Portable;

    /// <summary>
    /// Options for <paramref name="engine"/> on <paramref name="endPoint"/> (default 127.0.0.1, any port), two I/O threads
    /// (the portable engine always uses one).
    /// </summary>
    public static SessionServerOptions Options(TestEngine engine, IPEndPoint? endPoint = null)
    {
        if (engine != TestEngine.Portable)
        {
            Assert.SkipUnless(OperatingSystem.IsLinux(), "the epoll engine needs Linux");
        }

        return new SessionServerOptions
        {
            EndPoint = endPoint ?? new IPEndPoint(IPAddress.Loopback, 0),
            Engine = engine == TestEngine.Portable ? EngineKind.Portable : EngineKind.Epoll,
            EpollMode = engine == TestEngine.EpollEdgeTriggeredOneShot ? EpollMode.EdgeTriggeredOneShot : EpollMode.LevelTriggered,
            IoThreads = 2,
        };
    }
}
