using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Forwarding;

/// <summary>Forwarders for tests: loopback, two I/O threads, and a description of their counters for failure messages.</summary>
internal static class Forwarders
{
    public static UdpForwarderOptions Options(TestEngine engine, params TestUpstream[] upstreams) => Options(engine, upstreams.Select(u => u.EndPoint).ToArray());

    public static UdpForwarderOptions Options(TestEngine engine, params IPEndPoint[] upstreams)
    {
        var options = new UdpForwarderOptions { Server = TestEngines.Options(engine) };
        options.Server.SessionReceiveBufferSize = 1 << 20;
        foreach (IPEndPoint upstream in upstreams)
        {
            options.Upstreams.Add(new UpstreamOptions(upstream));
        }

        return options;
    }

    public static string Describe(UdpForwarder forwarder, params TestUpstream[] upstreams)
    {
        ForwarderStatistics s = forwarder.GetStatistics();
        string drops = string.Join(' ', Enum.GetValues<ForwardDropReason>().Where(r => s.GetDropped(r) > 0).Select(r => $"{r}={s.GetDropped(r)}"));
        return $"forwarder: {s} drops[{drops}] held={s.DatagramsHeldForSocket} waiting={s.DatagramsWaitingForSocket}; server: {s.Server}; " +
            string.Join("; ", s.Upstreams.Select(u => $"{u.EndPoint} healthy={u.IsHealthy} sessions={u.ActiveSessions} req={u.Requests} resp={u.Responses}")) +
            "; upstreams: " + string.Join("; ", upstreams.Select(u => u.ToString()));
    }

    /// <summary>
    /// Waits until the forwarder's counters are quiet and consistent, then checks that every client datagram handed
    /// to it is accounted for, and every datagram read from an upstream.
    /// </summary>
    public static async Task<ForwarderStatistics> AccountedAsync(UdpForwarder forwarder, long expectedRequests)
    {
        ForwarderStatistics? s = null;
        await Eventually.TrueAsync(
            () =>
            {
                s = forwarder.GetStatistics();
                long requestDrops = s.GetDropped(ForwardDropReason.NoUpstreamSocket) + s.GetDropped(ForwardDropReason.UpstreamSendBufferFull)
                    + s.GetDropped(ForwardDropReason.RequestTooLarge) + s.GetDropped(ForwardDropReason.UpstreamSendFailed);
                long responseDrops = s.DatagramsDropped - requestDrops;
                return s.Requests + requestDrops + s.DatagramsWaitingForSocket == s.Server.DatagramsDelivered
                    && s.Server.DatagramsDelivered == expectedRequests
                    && s.ResponsesReceived == s.ResponsesForwarded + responseDrops;
            },
            () => $"not accounted: expected {expectedRequests} requests; {Describe(forwarder)}");
        return s!;
    }
}
