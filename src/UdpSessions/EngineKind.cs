namespace UdpSessions;

/// <summary>Which I/O engine serves the sessions.</summary>
public enum EngineKind
{
    /// <summary>The best engine for this platform: <see cref="Epoll"/> on Linux, <see cref="Iocp"/> on Windows, <see cref="Portable"/> elsewhere.</summary>
    Auto = 0,

    /// <summary>Linux: a connected socket per session, a fixed pool of threads in <c>epoll_wait</c>.</summary>
    Epoll,

    /// <summary>
    /// Any platform: one .NET <see cref="System.Net.Sockets.Socket"/> and an address-to-session map. Slower, but it
    /// runs wherever .NET runs.
    /// </summary>
    Portable,

    /// <summary>
    /// Windows: one I/O completion port and a fixed pool of threads; readiness by zero-byte peeks, receives through
    /// the address map, replies through a connected socket per session.
    /// </summary>
    Iocp,
}
