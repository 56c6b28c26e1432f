using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// The promise of one session model: one handler class, unchanged, behind a UDP server and a TCP server. The same
/// client script must give the same replies, the same close reasons and the same counters.
/// </summary>
public class SameHandlerTests
{
    private const int Clients = 8;
    private const int Messages = 25;

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task One_handler_gives_identical_results_over_UDP_and_TCP(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(40, TestContext.Current.CancellationToken);
        (List<string> udpReplies, ServerStatistics udpStats, string[] udpCloses) = await RunAsync(SessionTransport.Udp, engine, timeout.Token);
        (List<string> tcpReplies, ServerStatistics tcpStats, string[] tcpCloses) = await RunAsync(SessionTransport.Tcp, engine, timeout.Token);

        Assert.Equal(Clients * (Messages + 1), udpReplies.Count);
        Assert.Equal(udpReplies, tcpReplies);
        Assert.Equal(udpCloses, tcpCloses);
        Assert.All(udpCloses, reason => Assert.Equal(nameof(SessionCloseReason.ClosedByApplication), reason));
        Assert.Equal(udpStats.SessionsAccepted, tcpStats.SessionsAccepted);
        Assert.Equal(udpStats.DatagramsReceived, tcpStats.DatagramsReceived);
        Assert.Equal(udpStats.DatagramsDelivered, tcpStats.DatagramsDelivered);
        Assert.Equal(udpStats.BytesReceived, tcpStats.BytesReceived);
        Assert.Equal(udpStats.DatagramsSent, tcpStats.DatagramsSent);
        Assert.Equal(udpStats.BytesSent, tcpStats.BytesSent);
        Assert.Equal(udpStats.GetClosed(SessionCloseReason.ClosedByApplication), tcpStats.GetClosed(SessionCloseReason.ClosedByApplication));
        Assert.Equal(Clients, tcpStats.GetClosed(SessionCloseReason.ClosedByApplication));
    }

    /// <summary>Runs the script against a fresh server; returns every reply (client by client, in order), the stats and the close reasons.</summary>
    private static async Task<(List<string> Replies, ServerStatistics Stats, string[] Closes)> RunAsync(
        SessionTransport transport, TestEngine engine, CancellationToken cancellationToken)
    {
        SessionServerOptions options = TestEngines.Options(engine);
        options.Transport = transport;
        var handler = new CountingReverser();
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: cancellationToken);
        var replies = new List<string>();
        for (int client = 0; client < Clients; client++)
        {
            await using IMessageClient connection = transport == SessionTransport.Udp
                ? new UdpMessageClient(server.LocalEndPoint)
                : new TcpMessageClient(await TcpTestClient.ConnectAsync(server.LocalEndPoint, TcpFraming.LengthPrefix32, cancellationToken));
            for (int m = 0; m < Messages; m++)
            {
                await connection.SendAsync(Encoding.ASCII.GetBytes($"client {client} message {m}"), cancellationToken);
                replies.Add(Encoding.ASCII.GetString(await connection.ReceiveAsync(cancellationToken)));
            }

            await connection.SendAsync("bye"u8.ToArray(), cancellationToken);
            replies.Add(Encoding.ASCII.GetString(await connection.ReceiveAsync(cancellationToken)));
        }

        await Eventually.TrueAsync(() => handler.Closes.Count == Clients, () => $"{handler.Closes.Count} sessions closed", cancellationToken: cancellationToken);
        ServerStatistics stats = await ServerChecks.AccountedAsync(server);
        return (replies, stats, [.. handler.Closes.Values.Order()]);
    }

    /// <summary>Replies "#n reversed-message" (n counts the session's messages); "bye" is answered, then the session closed.</summary>
    private sealed class CountingReverser : SessionHandler
    {
        public ConcurrentDictionary<long, string> Closes { get; } = new();

        public override void OnSessionAccepted(Session session) => session.UserState = new int[1];

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            int count = ++((int[])session.UserState!)[0];
            Span<byte> reply = stackalloc byte[datagram.Length + 8];
            int prefix = Encoding.ASCII.GetBytes($"#{count:D3} ", reply);
            datagram.CopyTo(reply[prefix..]);
            reply.Slice(prefix, datagram.Length).Reverse();
            session.Send(reply[..(prefix + datagram.Length)]);
            if (datagram.SequenceEqual("bye"u8))
            {
                session.Close();
            }
        }

        public override void OnSessionClosed(Session session, SessionCloseReason reason) => Closes[session.Id] = reason.ToString();
    }

    private interface IMessageClient : IAsyncDisposable
    {
        Task SendAsync(byte[] message, CancellationToken cancellationToken);

        Task<byte[]> ReceiveAsync(CancellationToken cancellationToken);
    }

    private sealed class UdpMessageClient : IMessageClient
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly byte[] _buffer = new byte[65_536];

        public UdpMessageClient(IPEndPoint server) => _socket.Connect(server);

        public async Task SendAsync(byte[] message, CancellationToken cancellationToken) => await _socket.SendAsync(message, cancellationToken);

        public async Task<byte[]> ReceiveAsync(CancellationToken cancellationToken)
        {
            int length = await _socket.ReceiveAsync(_buffer, cancellationToken);
            return _buffer.AsSpan(0, length).ToArray();
        }

        public ValueTask DisposeAsync()
        {
            _socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class TcpMessageClient(TcpTestClient client) : IMessageClient
    {
        public Task SendAsync(byte[] message, CancellationToken cancellationToken) => client.SendMessageAsync(message, cancellationToken);

        public async Task<byte[]> ReceiveAsync(CancellationToken cancellationToken) =>
            await client.ReceiveMessageAsync(cancellationToken) ?? throw new EndOfStreamException();

        public ValueTask DisposeAsync()
        {
            client.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
