// The UdpSessions server of bench/bulk/run.sh, measured the way bench/reference/bulk.c measures itself:
//   BulkServer send PORT WARMUP DURATION [--no-gso]   on the first datagram of a peer, an application thread streams
//                                                      1,200-byte datagrams to it with Session.SendBatch (54 a call, as many as one UDP_SEGMENT send holds)
//   BulkServer recv PORT WARMUP DURATION [--no-gro]   counts the datagrams its handler is given
// It prints "listening" once bound. After WARMUP seconds of traffic it measures DURATION seconds (datagrams sent or delivered, process CPU time) and
// prints: datagrams=N seconds=S cpu_seconds=C, then the server's statistics.
using System.Diagnostics;
using System.Net;
using UdpSessions;

if (args.Length < 4 || args[0] is not ("send" or "recv"))
{
    Console.Error.WriteLine("usage: BulkServer send|recv PORT WARMUP DURATION [--no-gso] [--no-gro]");
    return 2;
}

bool sending = args[0] == "send";
var options = new SessionServerOptions
{
    EndPoint = new IPEndPoint(IPAddress.Loopback, int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture)),
    IoThreads = 1,

    // A connected socket for the peer, as the C reference connects its socket to it (a session that only sends would
    // otherwise stay on the listener and every send would name its destination).
    Placement = SessionPlacement.OwnSocket,
    SendSegmentation = !args.Contains("--no-gso"),
    ReceiveCoalescing = !args.Contains("--no-gro"),
};
double warmup = double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
double duration = double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);

using var stop = new CancellationTokenSource();
var handler = new StreamHandler(sending, stop.Token);
await using SessionServer server = await SessionServer.StartAsync(options, handler);
Console.WriteLine($"listening on {server.LocalEndPoint}");
Func<ServerStatistics, long> datagrams = sending ? s => s.DatagramsSent : s => s.DatagramsDelivered;

while (server.GetStatistics().DatagramsReceived == 0)
{
    await Task.Delay(5);
}

await Task.Delay(TimeSpan.FromSeconds(warmup));
var process = Process.GetCurrentProcess();
long startCount = datagrams(server.GetStatistics());
process.Refresh();
TimeSpan startCpu = process.TotalProcessorTime;
var clock = Stopwatch.StartNew();
await Task.Delay(TimeSpan.FromSeconds(duration));
long count = datagrams(server.GetStatistics()) - startCount;
process.Refresh();
double cpu = (process.TotalProcessorTime - startCpu).TotalSeconds;
double seconds = clock.Elapsed.TotalSeconds;
stop.Cancel();
Console.WriteLine(FormattableString.Invariant($"datagrams={count} seconds={seconds:F3} cpu_seconds={cpu:F3}"));
Console.WriteLine(server.GetStatistics());
return 0;

/// <summary>Streams to the first peer from an application thread (send), or only lets the engine count (recv).</summary>
internal sealed class StreamHandler(bool sending, CancellationToken stop) : SessionHandler
{
    private const int Size = 1200, Segments = 54; // as many as one UDP_SEGMENT send takes (65,507 bytes), as bench/reference/bulk.c
    private int _started;

    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
    {
        if (sending && Interlocked.Exchange(ref _started, 1) == 0)
        {
            new Thread(() => Stream(session)) { IsBackground = true, Name = "stream" }.Start();
        }
    }

    private void Stream(Session session)
    {
        var run = new byte[Size * Segments];
        while (!stop.IsCancellationRequested && session.IsOpen)
        {
            session.SendBatch(run, Size);
        }
    }
}
