using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using UdpSessions.Engines;
using UdpSessions.Internal;

namespace UdpSessions.Benchmarks;

/// <summary>Real Session objects for the structure benchmarks: owned by a portable loop that is never started.</summary>
public static class Fixtures
{
    private static readonly Lazy<PortableLoop> Loop = new(() => new PortableLoop(new PortableEngine(
        new SessionServerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), IoThreads = 1 }, new NullHandler(), NullLogger.Instance)));

    internal static Session NewSession(int index, long lastActivity = 0) =>
        new(Loop.Value, Peer(index), PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, 9))) { LastActivity = lastActivity };

    /// <summary>Distinct peers the way a churn load makes them: 127.0.0.x with many ports.</summary>
    internal static PeerAddress Peer(int index) =>
        PeerAddress.FromIPEndPoint(new IPEndPoint(new IPAddress([127, 0, 0, (byte)(2 + (index / 50_000))]), 10_000 + (index % 50_000)));

    internal sealed class NullHandler : SessionHandler
    {
        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
        }
    }
}
