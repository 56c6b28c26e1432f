using System.Diagnostics.Metrics;

namespace UdpSessions.Forwarding;

/// <summary>
/// A forwarder's instruments on the <c>UdpSessions</c> meter, beside its server's (the client side): datagrams and
/// bytes each way, drops by cause, upstream sessions, moves, and each upstream's health and traffic. All observable:
/// read from <see cref="UdpForwarder.GetStatistics"/> when collected, so forwarding pays nothing for them.
/// </summary>
internal static class ForwarderInstruments
{
    private const string Direction = "udpsessions.forward.direction";
    private const string UpstreamTag = "udpsessions.upstream";
    private static readonly string[] DropCauses = Enum.GetNames<ForwardDropReason>().Select(UdpSessionsMetrics.SnakeCase).ToArray();
    private static readonly string[] HealthChanges = Enum.GetNames<UpstreamHealthChange>().Select(UdpSessionsMetrics.SnakeCase).ToArray();

    private static readonly KeyValuePair<string, object?>[] NoTags = [];

    public static void Add(Meter meter, UdpForwarder forwarder)
    {
        KeyValuePair<string, object?>[] tags =
        [
            new("network.transport", "udp"),
            new("server.port", forwarder.LocalEndPoint.Port),
        ];

        Measurement<long> One(long value, params KeyValuePair<string, object?>[] more) => new(value, [.. tags, .. more]);

        IEnumerable<Measurement<long>> TwoWays(Func<ForwarderStatistics, long> toUpstream, Func<ForwarderStatistics, long> toClient)
        {
            ForwarderStatistics s = forwarder.GetStatistics();
            return [One(toUpstream(s), Tag(Direction, "to_upstream")), One(toClient(s), Tag(Direction, "to_client"))];
        }

        IEnumerable<Measurement<long>> PerUpstream(Func<UpstreamStatistics, IEnumerable<(long Value, KeyValuePair<string, object?>[] Tags)>> read) =>
            forwarder.GetStatistics().Upstreams.SelectMany(u => read(u).Select(m => One(m.Value, [Tag(UpstreamTag, u.EndPoint.ToString()), .. m.Tags])));

        meter.CreateObservableCounter("udpsessions.forward.datagrams", () => TwoWays(s => s.Requests, s => s.ResponsesForwarded), "{datagram}",
            "Datagrams forwarded, by udpsessions.forward.direction (to_upstream, to_client).");
        meter.CreateObservableCounter("udpsessions.forward.bytes", () => TwoWays(s => s.RequestBytes, s => s.ResponseBytesForwarded), "By",
            "Payload bytes forwarded, by udpsessions.forward.direction.");
        meter.CreateObservableCounter("udpsessions.forward.responses.received", () => (IEnumerable<Measurement<long>>)[One(forwarder.GetStatistics().ResponsesReceived)], "{datagram}",
            "Datagrams read from upstream sockets (forwarded or dropped).");
        meter.CreateObservableCounter("udpsessions.forward.dropped",
            () =>
            {
                ForwarderStatistics s = forwarder.GetStatistics();
                return DropCauses.Select<string, Measurement<long>>((cause, i) => One(s.GetDropped((ForwardDropReason)i), Tag("udpsessions.drop.cause", cause)));
            },
            "{datagram}", "Datagrams the forwarder did not forward, by udpsessions.drop.cause.");
        meter.CreateObservableUpDownCounter("udpsessions.forward.upstream_sessions.active", () => (IEnumerable<Measurement<long>>)[One(forwarder.GetStatistics().UpstreamSessionsActive)],
            "{session}", "Upstream sessions (sockets toward upstreams) open now.");
        meter.CreateObservableCounter("udpsessions.forward.upstream_sessions.opened", () => (IEnumerable<Measurement<long>>)[One(forwarder.GetStatistics().UpstreamSessionsOpened)],
            "{session}", "Upstream sessions opened since start.");
        meter.CreateObservableCounter("udpsessions.forward.sessions.moved",
            () =>
            {
                ForwarderStatistics s = forwarder.GetStatistics();
                return (IEnumerable<Measurement<long>>)[One(s.SessionsMovedOffUnhealthy, Tag("udpsessions.move.cause", "unhealthy")), One(s.SessionsMovedOffRemoved, Tag("udpsessions.move.cause", "removed"))];
            },
            "{session}", "Sessions moved to another upstream, by udpsessions.move.cause (unhealthy, removed).");
        meter.CreateObservableUpDownCounter("udpsessions.forward.datagrams.waiting", () => (IEnumerable<Measurement<long>>)[One(forwarder.GetStatistics().DatagramsWaitingForSocket)],
            "{datagram}", "Client datagrams held while no fd is free for an upstream socket.");
        meter.CreateObservableGauge("udpsessions.forward.upstream.healthy", () => PerUpstream(u => [(u.IsHealthy ? 1 : 0, NoTags)]),
            "{upstream}", "1 while the upstream (udpsessions.upstream) is healthy, 0 while not.");
        meter.CreateObservableCounter("udpsessions.forward.upstream.health_changes",
            () => PerUpstream(u => HealthChanges.Select((change, i) => (u.GetHealthChanges((UpstreamHealthChange)i), new[] { Tag("udpsessions.health.change", change) }))),
            "{change}", "Health changes of each upstream, by udpsessions.health.change.");
        meter.CreateObservableUpDownCounter("udpsessions.forward.upstream.sessions.active", () => PerUpstream(u => [(u.ActiveSessions, NoTags)]),
            "{session}", "Client sessions bound to each upstream now.");
        meter.CreateObservableCounter("udpsessions.forward.upstream.datagrams",
            () => PerUpstream(u => [(u.Requests, [Tag(Direction, "to_upstream")]), (u.Responses, [Tag(Direction, "to_client")])]),
            "{datagram}", "Datagrams forwarded to and from each upstream, by udpsessions.forward.direction.");
    }

    private static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);
}
