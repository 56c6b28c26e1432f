using System.Diagnostics.Metrics;
using System.Text;

namespace UdpSessions;

/// <summary>
/// The servers' counters as System.Diagnostics.Metrics instruments on the "UdpSessions" meter. Every instrument is
/// observable: it reads <see cref="SessionServer.GetStatistics"/> when a listener collects, so the datagram path pays
/// nothing for metrics. Names follow OpenTelemetry conventions; every measurement carries <c>network.transport</c>
/// (udp or tcp), <c>server.address</c> (the bound address, e.g. 0.0.0.0 or ::) and <c>server.port</c> of the server
/// it describes, so two listeners on one port (IPv4 and IPv6, say) are told apart. UdpSessions.Hosting publishes them for the servers
/// it runs; a server started by hand publishes them with <see cref="Publish(IReadOnlyList{SessionServer})"/>.
/// </summary>
public static class UdpSessionsMetrics
{
    /// <summary>The meter's name, for <c>dotnet-counters monitor --counters UdpSessions</c> and OpenTelemetry's AddMeter.</summary>
    public const string MeterName = "UdpSessions";

    private const string DropCause = "udpsessions.drop.cause";
    private const string CloseReason = "udpsessions.close.reason";
    private const string CloseDetail = "udpsessions.close.detail";
    private static readonly string[] DropCauses = Enum.GetNames<DropReason>().Select(SnakeCase).ToArray();
    private static readonly string[] CloseReasons = Enum.GetNames<SessionCloseReason>().Select(SnakeCase).ToArray();

    /// <summary>Creates the meter from <paramref name="meterFactory"/> and its instruments over the started <paramref name="servers"/>.</summary>
    public static Meter Publish(IMeterFactory meterFactory, params IReadOnlyList<SessionServer> servers)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(servers);
        return AddInstruments(meterFactory.Create(MeterName), servers);
    }

    /// <summary>
    /// Creates the meter and its instruments over the started <paramref name="servers"/>, without dependency injection
    /// (any listener of the meter's name sees it: OpenTelemetry's <c>AddMeter</c>, dotnet-counters). Dispose the meter
    /// to withdraw them.
    /// </summary>
    public static Meter Publish(params IReadOnlyList<SessionServer> servers)
    {
        ArgumentNullException.ThrowIfNull(servers);
        return AddInstruments(new Meter(MeterName), servers);
    }

    /// <summary>
    /// Creates the meter from <paramref name="meterFactory"/> with the instruments of a started forwarder: its server's
    /// (the client side) and the forwarder's own (<c>udpsessions.forward.*</c>: each direction, drops, upstream health).
    /// </summary>
    public static Meter Publish(IMeterFactory meterFactory, UdpForwarder forwarder)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(forwarder);
        return AddForwarderInstruments(meterFactory.Create(MeterName), forwarder);
    }

    /// <summary>Creates the meter with the instruments of a started forwarder, without dependency injection; dispose it to withdraw them.</summary>
    public static Meter Publish(UdpForwarder forwarder)
    {
        ArgumentNullException.ThrowIfNull(forwarder);
        return AddForwarderInstruments(new Meter(MeterName), forwarder);
    }

    private static Meter AddForwarderInstruments(Meter meter, UdpForwarder forwarder)
    {
        AddInstruments(meter, [forwarder.Server]);
        Forwarding.ForwarderInstruments.Add(meter, forwarder);
        return meter;
    }

    private static Meter AddInstruments(Meter meter, IReadOnlyList<SessionServer> servers)
    {
        Observed[] observed = [.. servers.Select(server => new Observed(server))];

        IEnumerable<Measurement<long>> Each(Func<ServerStatistics, long> read) =>
            observed.Select(o => new Measurement<long>(read(o.Server.GetStatistics()), o.Tags));

        IEnumerable<Measurement<long>> EachTagged(string key, string[] values, Func<ServerStatistics, int, long> read) =>
            observed.SelectMany(o =>
            {
                ServerStatistics stats = o.Server.GetStatistics();
                return values.Select((value, i) => new Measurement<long>(read(stats, i), [.. o.Tags, new(key, value)]));
            });

        meter.CreateObservableUpDownCounter("udpsessions.sessions.active", () => Each(s => s.ActiveSessions), "{session}", "Sessions open now.");
        meter.CreateObservableCounter("udpsessions.sessions.accepted", () => Each(s => s.SessionsAccepted), "{session}", "Sessions accepted since start.");
        meter.CreateObservableCounter("udpsessions.sessions.closed", () => observed.SelectMany(ClosedMeasurements), "{session}",
            "Sessions closed, by udpsessions.close.reason (and, for closed_by_application with a reason given, udpsessions.close.detail).");
        meter.CreateObservableCounter("udpsessions.sessions.without_socket", () => Each(s => s.SessionsWithoutSocket), "{session}",
            "UDP sessions served through the listener (socket budget or fd limit) instead of a socket of their own.");
        meter.CreateObservableCounter("udpsessions.sessions.promoted", () => Each(s => s.SessionsPromoted), "{session}",
            "UDP sessions given a connected socket of their own after starting on the listeners (epoll: SessionPlacement).");
        meter.CreateObservableCounter("udpsessions.listener.datagrams",
            () => observed.SelectMany(o => o.Server.GetStatistics().ListenerDatagramsByThread
                .Select((count, thread) => new Measurement<long>(count, [.. o.Tags, new("udpsessions.io_thread", thread)]))),
            "{datagram}", "Datagrams read from each I/O thread's listening socket, by udpsessions.io_thread.");
        meter.CreateObservableCounter("udpsessions.connections.refused", () => Each(s => s.ConnectionsRefused), "{connection}",
            "TCP connections closed at accept because MaxSessions sessions were open.");
        meter.CreateObservableCounter("udpsessions.datagrams.received", () => Each(s => s.DatagramsReceived), "{datagram}", "Datagrams (TCP: frames) read.");
        meter.CreateObservableCounter("udpsessions.datagrams.delivered", () => Each(s => s.DatagramsDelivered), "{datagram}", "Datagrams handed to the application.");
        meter.CreateObservableCounter("udpsessions.datagrams.sent", () => Each(s => s.DatagramsSent), "{datagram}", "Datagrams (TCP: frames) sent.");
        meter.CreateObservableCounter("udpsessions.bytes.received", () => Each(s => s.BytesReceived), "By", "Payload bytes received.");
        meter.CreateObservableCounter("udpsessions.bytes.sent", () => Each(s => s.BytesSent), "By", "Payload bytes sent.");
        meter.CreateObservableCounter("udpsessions.datagrams.dropped",
            () => EachTagged(DropCause, DropCauses, (s, i) => s.GetDropped(Enum.GetValues<DropReason>()[i])),
            "{datagram}", "Received datagrams not delivered, by udpsessions.drop.cause.");
        meter.CreateObservableCounter("udpsessions.sends.dropped",
            () => EachTagged(DropCause, ["send_buffer_full", "session_closed", "oversized", "failed"],
                (s, i) => i switch { 0 => s.SendsDroppedBufferFull, 1 => s.SendsDroppedSessionClosed, 2 => s.SendsDroppedOversized, _ => s.SendsFailed }),
            "{datagram}", "Sends refused, by udpsessions.drop.cause (send_buffer_full, session_closed, oversized, failed).");
        meter.CreateObservableCounter("udpsessions.datagrams.redirected",
            () => EachTagged("udpsessions.redirect.kind", ["listener_late", "stray", "cross_thread"],
                (s, i) => i switch { 0 => s.ListenerLateDatagrams, 1 => s.StraysRerouted, _ => s.DatagramsRedirected }),
            "{datagram}", "Datagrams routed to their session from another socket, by udpsessions.redirect.kind (listener_late: " +
            "still on the listener when the session got its own socket; stray: on a new socket before connect(); cross_thread: " +
            "read by another I/O thread's listener and handed over).");
        meter.CreateObservableCounter("udpsessions.handler.errors", () => Each(s => s.HandlerErrors), "{error}", "Exceptions thrown by handler callbacks.");
        meter.CreateObservableCounter("udpsessions.socket.errors", () => Each(s => s.SocketErrors), "{error}", "Unexpected socket errors (each logged).");
        meter.CreateObservableCounter("udpsessions.sends.segmented", () => Each(s => s.SegmentedSends), "{send}",
            "Sends that carried several datagrams in one UDP_SEGMENT buffer.");
        meter.CreateObservableCounter("udpsessions.segmentation.fallbacks", () => Each(s => s.SegmentationFallbacks), "{send}",
            "UDP_SEGMENT sends the kernel refused, sent again as separate datagrams (segmentation then off for the socket).");
        meter.CreateObservableCounter("udpsessions.reads.coalesced", () => Each(s => s.CoalescedReads), "{read}",
            "Reads that held several datagrams (UDP_GRO), split before delivery.");
        meter.CreateObservableCounter("udpsessions.segments.oversized", () => Each(s => s.OversizedSegmentsDropped), "{datagram}",
            "Datagrams of coalesced reads over the maximum datagram size, dropped alone.");
        return meter;
    }

    /// <summary>
    /// Closed sessions by reason. Those closed by the application with a reason (<see cref="Session.Close(string)"/>)
    /// are split by it in <c>udpsessions.close.detail</c>; the rest of closed_by_application has no detail tag, so the
    /// measurements of one reason still add up to its total.
    /// </summary>
    private static IEnumerable<Measurement<long>> ClosedMeasurements(Observed observed)
    {
        ServerStatistics stats = observed.Server.GetStatistics();
        SessionCloseReason[] reasons = Enum.GetValues<SessionCloseReason>();
        for (int i = 0; i < reasons.Length; i++)
        {
            long closed = stats.GetClosed(reasons[i]);
            KeyValuePair<string, object?> reasonTag = new(CloseReason, CloseReasons[i]);
            if (reasons[i] == SessionCloseReason.ClosedByApplication)
            {
                foreach ((string detail, long count) in stats.ApplicationCloseReasons)
                {
                    closed -= count;
                    yield return new Measurement<long>(count, [.. observed.Tags, reasonTag, new(CloseDetail, detail)]);
                }
            }

            yield return new Measurement<long>(closed, [.. observed.Tags, reasonTag]);
        }
    }

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

    /// <summary>A server and the tags of its measurements.</summary>
    private sealed class Observed(SessionServer server)
    {
        public SessionServer Server { get; } = server;

        public KeyValuePair<string, object?>[] Tags { get; } =
        [
            new("network.transport", server.Transport == SessionTransport.Tcp ? "tcp" : "udp"),
            new("server.address", server.LocalEndPoint.Address.ToString()),
            new("server.port", server.LocalEndPoint.Port),
        ];
    }
}
