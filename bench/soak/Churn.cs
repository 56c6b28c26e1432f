using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Bench;

/// <summary>
/// Short-lived sessions at a steady rate: each is a new socket on a new 127.x address that sends two datagrams, waits
/// for both echoes (up to half a second) and leaves; the server closes the session when it idles out.
/// </summary>
internal sealed class Churn(IPEndPoint target, int perSecond)
{
    private long _sessions;
    private long _lost;

    public long Sessions => Interlocked.Read(ref _sessions);

    public long Lost => Interlocked.Read(ref _lost);

    public void Run(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        byte[] payload = new byte[16];
        byte[] buffer = new byte[64];
        long index = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            long due = (long)(clock.Elapsed.TotalSeconds * perSecond);
            if (index >= due)
            {
                Thread.Sleep(1);
                continue;
            }

            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(NewSources.Address(index, firstOctet: 20), 0));
            socket.Connect(target);
            int missing = 2;
            for (int k = 0; k < 2; k++)
            {
                BinaryPrimitives.WriteInt64LittleEndian(payload, index);
                BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(8), k);
                socket.Send(payload);
            }

            while (missing > 0 && socket.Poll(500_000, SelectMode.SelectRead))
            {
                int length = socket.Receive(buffer);
                if (length == payload.Length && BinaryPrimitives.ReadInt64LittleEndian(buffer) == index)
                {
                    missing--;
                }
            }

            Interlocked.Add(ref _lost, missing);
            Interlocked.Increment(ref _sessions);
            index++;
        }
    }
}
