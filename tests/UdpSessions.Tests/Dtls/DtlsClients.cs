using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using UdpSessions.Dtls;

namespace UdpSessions.Tests.Dtls;

/// <summary>In-process DTLS clients for the tests (UdpSessions' own <see cref="DtlsClient"/>) and the payloads they echo.</summary>
public static class DtlsClients
{
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Connects <paramref name="count"/> clients, at most <paramref name="parallel"/> handshakes at once.</summary>
    public static DtlsClient[] Connect(IPEndPoint server, int count, Func<int, DtlsClientOptions> options, int parallel, CancellationToken cancellationToken)
    {
        var clients = new DtlsClient[count];
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken },
                i => clients[i] = DtlsClient.Connect(server, options(i)));
            return clients;
        }
        catch
        {
            DisposeAll(clients);
            throw;
        }
    }

    public static void DisposeAll(IEnumerable<DtlsClient?> clients)
    {
        foreach (DtlsClient? client in clients)
        {
            client?.Dispose();
        }
    }

    /// <summary>A payload unique to (client, sequence): both as little-endian ints, then a pattern derived from them.</summary>
    public static byte[] Payload(int client, int sequence, int length = 48)
    {
        byte[] payload = new byte[Math.Max(8, length)];
        BinaryPrimitives.WriteInt32LittleEndian(payload, client);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(4), sequence);
        for (int i = 8; i < payload.Length; i++)
        {
            payload[i] = (byte)((client * 31) + (sequence * 7) + i);
        }

        return payload;
    }

    /// <summary>Sends <paramref name="payload"/> and checks that exactly it comes back, decrypted.</summary>
    public static void Echo(DtlsClient client, byte[] payload)
    {
        Assert.True(client.Send(payload), "the client socket refused the record");
        ExpectReply(client, payload);
    }

    public static void ExpectReply(DtlsClient client, byte[] payload)
    {
        byte[] buffer = new byte[70_000];
        int length = client.Receive(buffer, ReplyTimeout);
        Assert.True(length >= 0, $"no echo of {payload.Length} bytes within {ReplyTimeout.TotalSeconds} s (peer closed: {client.PeerClosed})");
        Assert.Equal(payload, buffer.AsSpan(0, length).ToArray());
    }

    /// <summary>The client's local endpoint, as the server sees it.</summary>
    public static IPEndPoint LocalEndPoint(DtlsClient client) => (IPEndPoint)client.Socket.LocalEndPoint!;

    /// <summary>Sends raw bytes on the client's socket (forged, replayed or damaged records).</summary>
    public static void SendRaw(DtlsClient client, ReadOnlySpan<byte> datagram) => client.Socket.Send(datagram, SocketFlags.None);

    /// <summary>A sealed application data record of <paramref name="payload"/>, not sent.</summary>
    public static byte[] Seal(DtlsClient client, byte[] payload)
    {
        byte[] record = new byte[client.SealedLength(payload.Length)];
        Assert.Equal(record.Length, client.Seal(payload, record));
        return record;
    }
}
