using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using UdpSessions.Cli.Echo;

// The baseline the benchmark compares against: what a developer writes from the Socket docs, with the allocation-free
// SocketAddress overloads (.NET 8+). One receive loop; each datagram is sent back before the next receive.
// Usage: NaiveEcho PORT [--stats-file PATH]   (listens on 127.0.0.1:PORT until SIGTERM/Ctrl+C)
if (args.Length is not (1 or 3) || !int.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out int port)
    || (args.Length == 3 && args[1] != "--stats-file"))
{
    await Console.Error.WriteLineAsync("usage: NaiveEcho PORT [--stats-file PATH]");
    return 2;
}

using var stats = args.Length == 3 ? new AllocationStatsFile(args[2], TimeSpan.FromMilliseconds(100)) : null;
using var stop = new CancellationTokenSource();
using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
socket.ReceiveBufferSize = 4 << 20;
socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
Console.WriteLine($"NaiveEcho: listening on {socket.LocalEndPoint}");

byte[] buffer = new byte[65_536];
var peer = new SocketAddress(AddressFamily.InterNetwork);
try
{
    while (true)
    {
        int length = await socket.ReceiveFromAsync(buffer, SocketFlags.None, peer, stop.Token);
        await socket.SendToAsync(buffer.AsMemory(0, length), SocketFlags.None, peer, stop.Token);
    }
}
catch (OperationCanceledException)
{
}

return 0;
