using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using UdpSessions.Engines;
using UdpSessions.Internal;

namespace UdpSessions.Tests.Internal;

/// <summary>Real Session objects for unit tests of the internals: owned by a portable loop that is never started.</summary>
internal static class InternalFixtures
{
    private static readonly PortableLoop Loop = new(new PortableEngine(
        new SessionServerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), IoThreads = 1 }, new NullHandler(), NullLogger.Instance));

    private static int s_nextPort = 20_000;

    public static Session NewSession(long lastActivity = 0)
    {
        int port = Interlocked.Increment(ref s_nextPort);
        var session = new Session(
            Loop,
            PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, port)),
            PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, 9)))
        {
            LastActivity = lastActivity,
        };
        return session;
    }

    private sealed class NullHandler : SessionHandler
    {
        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
        }
    }
}
