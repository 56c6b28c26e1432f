using System.Net;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>The engine configurations the integration tests run against.</summary>
public enum TestEngine
{
    /// <summary>epoll, the default placement (sessions on the listeners until busy enough), level-triggered.</summary>
    EpollAdaptive,

    /// <summary>epoll, every session on a connected socket of its own, level-triggered.</summary>
    EpollOwnSocket,

    /// <summary>epoll, every session on a socket of its own, EPOLLET | EPOLLONESHOT.</summary>
    EpollOwnSocketOneShot,

    /// <summary>epoll, every session on the listeners and the address map.</summary>
    EpollAddressMap,

    /// <summary>One .NET socket and the address map.</summary>
    Portable,
}

/// <summary>Theory data and server options for <see cref="TestEngine"/>.</summary>
public static class TestEngines
{
    /// <summary>Every engine configuration.</summary>
    public static TheoryData<TestEngine> All => new(Enum.GetValues<TestEngine>());

    /// <summary>The epoll engine with a socket per session, in both modes (features that need a socket of its own).</summary>
    public static TheoryData<TestEngine> OwnSocket => new() { TestEngine.EpollOwnSocket, TestEngine.EpollOwnSocketOneShot };

    /// <summary>Every epoll configuration.</summary>
    public static TheoryData<TestEngine> Epoll => new() { TestEngine.EpollAdaptive, TestEngine.EpollOwnSocket, TestEngine.EpollOwnSocketOneShot, TestEngine.EpollAddressMap };

    /// <summary>
    /// True when the configuration gives every session a connected socket of its own (never on an IPv4 wildcard
    /// listener, whose sessions stay on the listeners).
    /// </summary>
    public static bool HasSessionSockets(TestEngine engine, IPAddress? listenOn = null) =>
        engine is TestEngine.EpollOwnSocket or TestEngine.EpollOwnSocketOneShot && !IPAddress.Any.Equals(listenOn);

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
            EpollMode = engine == TestEngine.EpollOwnSocketOneShot ? EpollMode.EdgeTriggeredOneShot : EpollMode.LevelTriggered,
            Placement = engine switch
            {
                TestEngine.EpollOwnSocket or TestEngine.EpollOwnSocketOneShot => SessionPlacement.OwnSocket,
                TestEngine.EpollAddressMap => SessionPlacement.AddressMap,
                _ => SessionPlacement.Adaptive,
            },
            IoThreads = 2,
        };
    }
}
