using System.Net.Sockets;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>An echo handler that measures what its I/O thread allocates between two datagram counts.</summary>
public sealed class AllocationProbe(int start, int end) : SessionHandler
{
    public AllocationWindow Window { get; } = new(start, end);

    public long AllocatedBytes => Window.AllocatedBytes;

    public bool Done => Window.Done;

    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
    {
        Window.Count();
        session.Send(datagram);
    }
}

/// <summary>
/// What the calling thread (an I/O thread, from a handler) allocates between its <c>start</c>-th and <c>end</c>-th
/// call of <see cref="Count"/> (GC.GetAllocatedBytesForCurrentThread, so the test's own client does not count).
/// </summary>
public sealed class AllocationWindow(int start, int end)
{
    private int _count;
    private long _startBytes;

    public long AllocatedBytes { get; private set; } = -1;

    public bool Done { get; private set; }

    public void Count()
    {
        if (_count == start)
        {
            _startBytes = GC.GetAllocatedBytesForCurrentThread();
        }
        else if (_count == end)
        {
            AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - _startBytes;
            Done = true;
        }

        _count++;
    }

    /// <summary>One UDP client, <paramref name="count"/> 64-byte requests, each echo awaited and checked.</summary>
    public static void EchoOverUdp(SessionServer server, int count)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Connect(server.LocalEndPoint);
        client.ReceiveTimeout = 5_000;
        byte[] datagram = new byte[64];
        byte[] reply = new byte[128];
        for (int i = 0; i < count; i++)
        {
            BitConverter.TryWriteBytes(datagram, i);
            client.Send(datagram);
            Assert.Equal(datagram.Length, client.Receive(reply));
            Assert.Equal(i, BitConverter.ToInt32(reply));
        }
    }
}
