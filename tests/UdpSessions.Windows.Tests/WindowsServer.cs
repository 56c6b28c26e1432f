using System.Net;
using System.Runtime.InteropServices;
using UdpSessions.Engines.Windows;

namespace UdpSessions.Windows.Tests;

/// <summary>Server options and probes for the Windows lane.</summary>
public static partial class WindowsServer
{
    /// <summary>Engines the lane runs on Windows.</summary>
    public static TheoryData<EngineKind> Engines => new() { EngineKind.Iocp, EngineKind.Portable };

    /// <summary>Options on 127.0.0.1, any port, two I/O threads (the portable engine uses one).</summary>
    public static SessionServerOptions Options(EngineKind engine = EngineKind.Iocp, IPEndPoint? endPoint = null)
    {
        Assert.True(OperatingSystem.IsWindows(), "the Windows lane runs on Windows (Wine) only");
        return new SessionServerOptions { EndPoint = endPoint ?? new IPEndPoint(IPAddress.Loopback, 0), Engine = engine, IoThreads = 2 };
    }

    internal static IocpEngine Iocp(SessionServer server) => Assert.IsType<IocpEngine>(server.Implementation);

    /// <summary>
    /// Sockets and other handles open in this process. Windows counts handles (a SOCKET is one); Wine's
    /// GetProcessHandleCount says 0, but there every socket in use is a Unix fd of this very process, which
    /// /proc/self/fd lists (Wine maps the Unix root to drive Z:).
    /// </summary>
    public static int HandleCount()
    {
        if (GetProcessHandleCount(GetCurrentProcess(), out uint count) != 0 && count > 0)
        {
            return (int)count;
        }

        return Directory.GetFileSystemEntries(@"Z:\proc\self\fd").Length;
    }

    [LibraryImport("kernel32.dll")]
    private static partial nint GetCurrentProcess();

    [LibraryImport("kernel32.dll")]
    private static partial int GetProcessHandleCount(nint process, out uint count);
}
