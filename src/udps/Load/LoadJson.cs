using System.Text.Json;

namespace UdpSessions.Cli.Load;

/// <summary>The machine-readable result of <c>udps load --json</c>: one object, stable field names, numbers not strings.</summary>
internal static class LoadJson
{
    public static void Write(Stream destination, LoadResult r, double maxLossPercent, bool pass)
    {
        using var json = new Utf8JsonWriter(destination, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("target", r.Target);
        json.WriteNumber("sessions", r.Sessions);
        json.WriteNumber("window", r.Window);
        json.WriteNumber("size", r.DatagramSize);
        WriteOptional(json, "rate", r.Rate);
        WriteOptional(json, "churn", r.Churn);
        json.WriteNumber("threads", r.Threads);
        json.WriteNumber("measuredSeconds", r.MeasuredDuration.TotalSeconds);
        json.WriteNumber("sent", r.Sent);
        json.WriteNumber("replies", r.Replies);
        json.WriteNumber("measuredReplies", r.MeasuredReplies);
        json.WriteNumber("repliesPerSecond", r.RepliesPerSecond);
        json.WriteNumber("lost", r.Lost);
        json.WriteNumber("lossPercent", r.LossPercent);
        json.WriteNumber("late", r.Late);
        json.WriteNumber("corrupt", r.Corrupt);
        json.WriteNumber("misrouted", r.Misrouted);
        json.WriteNumber("duplicates", r.Duplicates);
        json.WriteNumber("integrityErrors", r.IntegrityErrors);
        json.WriteNumber("sendErrors", r.SendErrors);
        json.WriteNumber("receiveErrors", r.ReceiveErrors);
        json.WriteNumber("openErrors", r.OpenErrors);
        json.WriteNumber("inFlightAtStop", r.InFlightAtStop);
        json.WriteStartObject("latencyMicros");
        json.WriteNumber("p50", r.LatencyPercentileMicros(50));
        json.WriteNumber("p90", r.LatencyPercentileMicros(90));
        json.WriteNumber("p99", r.LatencyPercentileMicros(99));
        json.WriteNumber("p999", r.LatencyPercentileMicros(99.9));
        json.WriteNumber("max", r.LatencyMaxMicros);
        json.WriteEndObject();
        json.WriteNumber("sessionsOpened", r.SessionsOpened);
        json.WriteNumber("sessionsAccepted", r.SessionsAccepted);
        json.WriteNumber("sessionsAcceptedPerSecond", r.SessionsAcceptedPerSecond);
        if (r.Server is ServerUsage server)
        {
            json.WriteStartObject("server");
            json.WriteNumber("cpuSeconds", server.CpuSeconds);
            WriteOptional(json, "cpuMicrosPerReply", r.ServerCpuMicrosPerReply);
            WriteOptional(json, "cpuMicrosPerSession", r.ServerCpuMicrosPerSession);
            WriteOptional(json, "allocatedBytes", server.AllocatedBytes);
            WriteOptional(json, "allocatedBytesPerReply", r.AllocatedBytesPerReply);
            json.WriteEndObject();
        }

        if (r.Handshakes is HandshakePhase handshakes)
        {
            json.WriteStartObject("dtlsHandshakes");
            json.WriteNumber("count", handshakes.Count);
            json.WriteNumber("seconds", handshakes.Elapsed.TotalSeconds);
            json.WriteNumber("perSecond", handshakes.PerSecond);
            WriteOptional(json, "serverCpuSeconds", handshakes.Server?.CpuSeconds);
            WriteOptional(json, "serverCpuMicrosPerHandshake", handshakes.ServerCpuMicrosPerHandshake);
            WriteOptional(json, "serverAllocatedBytes", handshakes.Server?.AllocatedBytes);
            json.WriteEndObject();
        }

        // The pictures' data (udps plot run): the latency percentile distribution and replies per interval of the run.
        json.WriteStartArray("latencyPercentiles");
        foreach (LatencyPoint point in r.LatencyDistribution)
        {
            json.WriteStartObject();
            json.WriteNumber("percentile", point.Percentile);
            json.WriteNumber("micros", point.Micros);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartObject("timeline");
        json.WriteNumber("intervalSeconds", r.Timeline.Interval.TotalSeconds);
        json.WriteNumber("measureStartSeconds", r.Timeline.MeasureStart.TotalSeconds);
        json.WriteNumber("measureEndSeconds", r.Timeline.MeasureEnd.TotalSeconds);
        json.WriteStartArray("replies");
        foreach (long replies in r.Timeline.Replies)
        {
            json.WriteNumberValue(replies);
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteNumber("maxLossPercent", maxLossPercent);
        json.WriteBoolean("cancelled", r.Cancelled);
        json.WriteBoolean("pass", pass);
        json.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, double? value)
    {
        if (value is double v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
