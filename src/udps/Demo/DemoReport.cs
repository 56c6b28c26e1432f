using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using UdpSessions.Cli.Echo;
using UdpSessions.Cli.Load;

namespace UdpSessions.Cli.Demo;

/// <summary>The demo's summary: what the client measured and checked, next to what the server counted.</summary>
internal static class DemoReport
{
    public static Table Build(string engine, LoadResult client, ServerStatistics server)
    {
        var table = new Table { Title = new TableTitle("udps demo") }
            .AddColumn("")
            .AddColumn(new TableColumn("value").RightAligned());

        Row(table, "engine", engine);
        Row(table, "sessions x window x bytes", Invariant($"{client.Sessions} x {client.Window} x {client.DatagramSize}"));
        Row(table, "datagrams sent", Count(client.Sent));
        Row(table, "replies", Count(client.Replies));
        Row(table, "datagrams/s (round trips)", Invariant($"{client.RepliesPerSecond:N0}"));
        Row(table, "latency p50 / p99 / max (µs)", Invariant(
            $"{client.LatencyPercentileMicros(50):N0} / {client.LatencyPercentileMicros(99):N0} / {client.LatencyMaxMicros:N0}"));
        Failure(table, "lost", client.Lost);
        Failure(table, "corrupt", client.Corrupt);
        Failure(table, "wrong session", client.Misrouted);
        Failure(table, "duplicates", client.Duplicates);
        Row(table, "late (answered after timeout)", Count(client.Late));
        Row(table, "client send / receive errors", Invariant($"{client.SendErrors:N0} / {client.ReceiveErrors:N0}"));
        Row(table, "server sessions accepted", Count(server.SessionsAccepted));
        Row(table, "server delivered", Count(server.DatagramsDelivered));
        Row(table, "server drops", Count(RateLine.Drops(server)));
        return table;
    }

    private static void Row(Table table, string name, string value) => table.AddRow(new Text(name), new Text(value));

    private static void Failure(Table table, string name, long value) =>
        table.AddRow(new IRenderable[] { new Text(name), new Text(Count(value), value == 0 ? Style.Plain : new Style(Color.Red)) });

    private static string Count(long value) => Invariant($"{value:N0}");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
