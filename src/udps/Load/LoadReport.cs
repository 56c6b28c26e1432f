using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace UdpSessions.Cli.Load;

/// <summary>The final table of <c>udps load</c>: rates, latency, every kind of fault, and the server's cost when probed.</summary>
internal static class LoadReport
{
    public static Table Build(LoadResult r)
    {
        var table = new Table { Title = new TableTitle("udps load") }
            .AddColumn("")
            .AddColumn(new TableColumn("value").RightAligned());

        string mode = r.Rate is double rate ? Invariant($"open loop, {rate:N0}/s") : Invariant($"closed loop, window {r.Window}");
        Row(table, "target", r.Target);
        Row(table, "sessions x bytes", Invariant($"{r.Sessions} x {r.DatagramSize}, {mode}{(r.Churn is int k ? Invariant($", churn every {k}") : "")}"));
        Row(table, "measured", Invariant($"{r.MeasuredDuration.TotalSeconds:F1} s{(r.Cancelled ? " (cancelled)" : "")}"));
        Row(table, "sent / replies", Invariant($"{r.Sent:N0} / {r.Replies:N0}"));
        Row(table, "replies/s", Invariant($"{r.RepliesPerSecond:N0}"));
        Row(table, "latency p50 / p90 / p99 (µs)", Invariant(
            $"{r.LatencyPercentileMicros(50):N0} / {r.LatencyPercentileMicros(90):N0} / {r.LatencyPercentileMicros(99):N0}"));
        Row(table, "latency p99.9 / max (µs)", Invariant($"{r.LatencyPercentileMicros(99.9):N0} / {r.LatencyMaxMicros:N0}"));
        Failure(table, "lost", r.Lost, Invariant($" ({r.LossPercent:0.###} %)"));
        Failure(table, "corrupt", r.Corrupt);
        Failure(table, "misrouted (other session)", r.Misrouted);
        Failure(table, "duplicated", r.Duplicates);
        Row(table, "late (answered after timeout)", Invariant($"{r.Late:N0}"));
        Row(table, "send / receive / open errors", Invariant($"{r.SendErrors:N0} / {r.ReceiveErrors:N0} / {r.OpenErrors:N0}"));
        if (r.Cancelled)
        {
            Row(table, "in flight at stop", Invariant($"{r.InFlightAtStop:N0}"));
        }

        Row(table, "sessions opened / accepted", Invariant($"{r.SessionsOpened:N0} / {r.SessionsAccepted:N0}"));
        if (r.Handshakes is HandshakePhase handshakes)
        {
            Row(table, "DTLS handshakes, handshakes/s", Invariant($"{handshakes.Count:N0} in {handshakes.Elapsed.TotalSeconds:F2} s, {handshakes.PerSecond:N0}/s"));
            Row(table, "server CPU µs / handshake", Optional(handshakes.ServerCpuMicrosPerHandshake, "F1"));
        }

        if (r.Churn is not null)
        {
            Row(table, "accepted sessions/s", Invariant($"{r.SessionsAcceptedPerSecond:N0}"));
        }

        if (r.Server is ServerUsage server)
        {
            Row(table, "server CPU (s) in window", Invariant($"{server.CpuSeconds:F2}"));
            Row(table, "server CPU µs / reply", Optional(r.ServerCpuMicrosPerReply, "F2"));
            if (r.Churn is not null)
            {
                Row(table, "server CPU µs / accepted session", Optional(r.ServerCpuMicrosPerSession, "F1"));
            }

            Row(table, "server allocated B / reply", Optional(r.AllocatedBytesPerReply, "F3"));
        }

        return table;
    }

    private static string Optional(double? value, string format) =>
        value is double v ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    private static void Row(Table table, string name, string value) => table.AddRow(new Text(name), new Text(value));

    private static void Failure(Table table, string name, long value, string suffix = "") =>
        table.AddRow(new IRenderable[] { new Text(name), new Text(Invariant($"{value:N0}{suffix}"), value == 0 ? Style.Plain : new Style(Color.Red)) });

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
