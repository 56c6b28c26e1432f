using System.Net.Sockets;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Windows.Tests;

/// <summary><see cref="Session.SendBatch"/> on Windows: no segmentation offload, the datagrams go out one by one, whole and in order.</summary>
public class BatchSendTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(WindowsServer.Engines), MemberType = typeof(WindowsServer))]
    public async Task A_batch_arrives_as_its_datagrams_in_order(EngineKind engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        await using SessionServer server = await SessionServer.StartAsync(WindowsServer.Options(engine), new BatchHandler(), cancellationToken: timeout.Token);
        using var client = new Socket(server.LocalEndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 10_000 };
        client.Connect(server.LocalEndPoint);
        client.Send([1]);

        var buffer = new byte[2048];
        for (int k = 0; k < BatchHandler.Count; k++)
        {
            int received = client.Receive(buffer);
            Assert.True(buffer.AsSpan(0, received).SequenceEqual(BatchHandler.Datagram(k)), $"datagram {k}: {received} bytes");
        }

        ServerStatistics stats = server.GetStatistics();
        Assert.Equal(BatchHandler.Count, stats.DatagramsSent);
        Assert.Equal(0, stats.SegmentedSends);
    }

    private sealed class BatchHandler : SessionHandler
    {
        public const int Count = 11, Size = 300;

        // Ten datagrams of 300 bytes and a last one of 100, each byte telling its datagram and position.
        public static byte[] Datagram(int index) =>
            [.. Enumerable.Range(0, index == Count - 1 ? 100 : Size).Select(j => (byte)((index * 31) + (j * 7)))];

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) =>
            Assert.True(session.SendBatch([.. Enumerable.Range(0, Count).SelectMany(Datagram)], Size));
    }
}
