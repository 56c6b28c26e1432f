using System.Globalization;

namespace UdpSessions.Cli.Echo;

/// <summary>Turns two statistics snapshots into the once-a-second line of <c>udps echo</c>.</summary>
internal static class RateLine
{
    public static string Format(ServerStatistics previous, ServerStatistics current, TimeSpan elapsed)
    {
        double seconds = Math.Max(elapsed.TotalSeconds, 1e-3);
        double Rate(long before, long after) => (after - before) / seconds;

        long drops = Drops(current) - Drops(previous);
        return string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.Now:HH:mm:ss} active={current.ActiveSessions} new/s={Rate(previous.SessionsAccepted, current.SessionsAccepted):F0} " +
            $"in/s={Rate(previous.DatagramsReceived, current.DatagramsReceived):F0} out/s={Rate(previous.DatagramsSent, current.DatagramsSent):F0} " +
            $"drops={drops}");
    }

    /// <summary>Everything the echo lost on either side: received but not delivered, or not sent back.</summary>
    public static long Drops(ServerStatistics s) =>
        s.DatagramsDropped + s.SendsDroppedBufferFull + s.SendsDroppedSessionClosed + s.SendsFailed;
}
