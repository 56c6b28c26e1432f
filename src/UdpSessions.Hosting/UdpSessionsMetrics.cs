using System.Diagnostics.Metrics;
using System.Text;

namespace UdpSessions.Hosting;

/// <summary>
/// The server's counters as System.Diagnostics.Metrics instruments on the "UdpSessions" meter. Every instrument is
/// observable: it reads <see cref="SessionServer.GetStatistics"/> when a listener collects, so the datagram path pays
/// nothing for metrics. Names follow OpenTelemetry conventions; every measurement carries <c>network.transport</c>
/// (udp or tcp) and <c>server.port</c>.
/// </summary>
public static class UdpSessionsMetrics
{
    /// <summary>The meter's name, for <c>dotnet-counters monitor --counters UdpSessions</c> and OpenTelemetry's AddMeter.</summary>
    public const string MeterName = "UdpSessions";

    private static readonly string[] DropCauses = Enum.GetNames<DropReason>().Select(SnakeCase).ToArray();
    private static readonly string[] CloseReasons = Enum.GetNames<SessionCloseReason>().Select(SnakeCase).ToArray();

    /// <summary>Creates the meter from <paramref name="meterFactory"/> and its instruments over <paramref name="server"/>.</summary>
    public static Meter Publish(IMeterFactory meterFactory, SessionServer server)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(server);
        Meter meter = meterFactory.Create(MeterName);
        var common = new KeyValuePair<string, object?>[]
        {
            new("network.transport", server.Transport == SessionTransport.Tcp ? "tcp" : "udp"),
            new("server.port", server.LocalEndPoint.Port),
        };

        Measurement<long> One(long value) => new(value, common);

        meter.CreateObservableUpDownCounter("udpsessions.sessions.active", () => One(server.GetStatistics().ActiveSessions), "{session}", "Sessions open now.");
        meter.CreateObservableCounter("udpsessions.sessions.accepted", () => One(server.GetStatistics().SessionsAccepted), "{session}", "Sessions accepted since start.");
        meter.CreateObservableCounter("udpsessions.sessions.closed", () => ByReason(server.GetStatistics(), common), "{session}", "Sessions closed, by udpsessions.close.reason.");
        meter.CreateObservableCounter("udpsessions.sessions.without_socket", () => One(server.GetStatistics().SessionsWithoutSocket), "{session}",
            "UDP sessions served through the listener (socket budget or fd limit) instead of a socket of their own.");
        meter.CreateObservableCounter("udpsessions.connections.refused", () => One(server.GetStatistics().ConnectionsRefused), "{connection}",
            "TCP connections closed at accept because MaxSessions sessions were open.");
        meter.CreateObservableCounter("udpsessions.datagrams.received", () => One(server.GetStatistics().DatagramsReceived), "{datagram}", "Datagrams (TCP: frames) read.");
        meter.CreateObservableCounter("udpsessions.datagrams.delivered", () => One(server.GetStatistics().DatagramsDelivered), "{datagram}", "Datagrams handed to the application.");
        meter.CreateObservableCounter("udpsessions.datagrams.sent", () => One(server.GetStatistics().DatagramsSent), "{datagram}", "Datagrams (TCP: frames) sent.");
        meter.CreateObservableCounter("udpsessions.bytes.received", () => One(server.GetStatistics().BytesReceived), "By", "Payload bytes received.");
        meter.CreateObservableCounter("udpsessions.bytes.sent", () => One(server.GetStatistics().BytesSent), "By", "Payload bytes sent.");
        meter.CreateObservableCounter("udpsessions.datagrams.dropped", () => ByCause(server.GetStatistics(), common), "{datagram}",
            "Received datagrams not delivered, by udpsessions.drop.cause.");
        meter.CreateObservableCounter("udpsessions.sends.dropped", () => SendDrops(server.GetStatistics(), common), "{datagram}",
            "Sends refused, by udpsessions.drop.cause (send_buffer_full, session_closed, failed).");
        meter.CreateObservableCounter("udpsessions.datagrams.redirected", () => Redirects(server.GetStatistics(), common), "{datagram}",
            "Datagrams routed to their session after the accept race, by udpsessions.redirect.kind (listener_late, stray).");
        meter.CreateObservableCounter("udpsessions.handler.errors", () => One(server.GetStatistics().HandlerErrors), "{error}", "Exceptions thrown by handler callbacks.");
        meter.CreateObservableCounter("udpsessions.socket.errors", () => One(server.GetStatistics().SocketErrors), "{error}", "Unexpected socket errors (each logged).");
        return meter;
    }

    private static IEnumerable<Measurement<long>> ByReason(ServerStatistics stats, KeyValuePair<string, object?>[] common)
    {
        SessionCloseReason[] reasons = Enum.GetValues<SessionCloseReason>();
        for (int i = 0; i < reasons.Length; i++)
        {
            yield return new Measurement<long>(stats.GetClosed(reasons[i]), [.. common, new("udpsessions.close.reason", CloseReasons[i])]);
        }
    }

    private static IEnumerable<Measurement<long>> ByCause(ServerStatistics stats, KeyValuePair<string, object?>[] common)
    {
        DropReason[] causes = Enum.GetValues<DropReason>();
        for (int i = 0; i < causes.Length; i++)
        {
            yield return new Measurement<long>(stats.GetDropped(causes[i]), [.. common, new("udpsessions.drop.cause", DropCauses[i])]);
        }
    }

    private static IEnumerable<Measurement<long>> SendDrops(ServerStatistics stats, KeyValuePair<string, object?>[] common)
    {
        yield return Tagged(stats.SendsDroppedBufferFull, common, "udpsessions.drop.cause", "send_buffer_full");
        yield return Tagged(stats.SendsDroppedSessionClosed, common, "udpsessions.drop.cause", "session_closed");
        yield return Tagged(stats.SendsFailed, common, "udpsessions.drop.cause", "failed");
    }

    private static IEnumerable<Measurement<long>> Redirects(ServerStatistics stats, KeyValuePair<string, object?>[] common)
    {
        yield return Tagged(stats.ListenerLateDatagrams, common, "udpsessions.redirect.kind", "listener_late");
        yield return Tagged(stats.StraysRerouted, common, "udpsessions.redirect.kind", "stray");
    }

    private static Measurement<long> Tagged(long value, KeyValuePair<string, object?>[] common, string key, string tag) =>
        new(value, [.. common, new(key, tag)]);

    /// <summary>"ReceiveQueueFull" becomes "receive_queue_full".</summary>
    internal static string SnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 4);
        foreach (char c in name)
        {
            if (char.IsUpper(c) && builder.Length > 0)
            {
                builder.Append('_');
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }
}
