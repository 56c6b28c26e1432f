using System.Globalization;
using UdpSessions.Cli.Echo;

namespace UdpSessions.Cli.Forward;

/// <summary>The once-a-second line of <c>udps forward</c> and its closing summary.</summary>
internal static class ForwardReport
{
    public static string Line(ForwarderStatistics previous, ForwarderStatistics current, TimeSpan elapsed)
    {
        double seconds = Math.Max(elapsed.TotalSeconds, 1e-3);
        double Rate(long before, long after) => (after - before) / seconds;

        long drops = Drops(current) - Drops(previous);
        return string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.Now:HH:mm:ss} active={current.Server.ActiveSessions} new/s={Rate(previous.Server.SessionsAccepted, current.Server.SessionsAccepted):F0} " +
            $"in/s={Rate(previous.Server.DatagramsReceived, current.Server.DatagramsReceived):F0} " +
            $"up/s={Rate(previous.Requests, current.Requests):F0} down/s={Rate(previous.ResponsesForwarded, current.ResponsesForwarded):F0} " +
            $"out/s={Rate(previous.Server.DatagramsSent, current.Server.DatagramsSent):F0} drops={drops} " +
            $"healthy={current.Upstreams.Count(u => u.IsHealthy)}/{current.Upstreams.Count}");
    }

    /// <summary>Everything lost on either side: the client-side server's drops and the forwarder's.</summary>
    public static long Drops(ForwarderStatistics s) => RateLine.Drops(s.Server) + s.DatagramsDropped;

    public static void Write(TextWriter writer, ForwarderStatistics s)
    {
        var c = CultureInfo.InvariantCulture;
        writer.WriteLine("client side:");
        StatisticsReport.Write(writer, s.Server);
        writer.WriteLine(string.Create(c,
            $"forwarded: to upstreams={s.Requests} ({s.RequestBytes} B) from upstreams={s.ResponsesReceived} ({s.ResponseBytesReceived} B) to clients={s.ResponsesForwarded} ({s.ResponseBytesForwarded} B)"));
        writer.WriteLine(string.Create(c,
            $"upstream sessions: opened={s.UpstreamSessionsOpened} closed={s.UpstreamSessionsClosed} completed={s.SessionsCompleted} renewed={s.SessionsRenewed} " +
            $"upstreamIdle={s.SessionsClosedUpstreamIdle} movedUnhealthy={s.SessionsMovedOffUnhealthy} movedRemoved={s.SessionsMovedOffRemoved} " +
            $"withoutHealthy={s.SentWithoutHealthyUpstream} heldForSocket={s.DatagramsHeldForSocket}"));
        writer.WriteLine("forward drops: " + string.Join(' ', Enum.GetValues<ForwardDropReason>().Select(r => string.Create(c, $"{r}={s.GetDropped(r)}"))));
        foreach (UpstreamStatistics u in s.Upstreams)
        {
            writer.WriteLine(string.Create(c,
                $"upstream {u.EndPoint} weight={u.Weight} healthy={u.IsHealthy} sessions={u.ActiveSessions} requests={u.Requests} responses={u.Responses} health changes: ") +
                string.Join(' ', Enum.GetValues<UpstreamHealthChange>().Select(h => string.Create(c, $"{h}={u.GetHealthChanges(h)}"))));
        }
    }
}
