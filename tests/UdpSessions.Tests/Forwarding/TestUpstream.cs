using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Forwarding;

/// <summary>
/// An upstream for forwarder tests: a UdpSessions echo on loopback (sessions on the listener, so it costs no fds)
/// that records which client ids (the first 4 bytes of a <see cref="ClientGroup"/> payload) it served, can stop
/// answering (<see cref="Silent"/>), can be closed so that its port answers with ICMP, and understands PROXY v2
/// headers: it strips them, remembers the client address each upstream session announced, and echoes the rest.
/// </summary>
internal sealed class TestUpstream : IAsyncDisposable
{
    private readonly SessionServer _server;
    private readonly Handler _handler;

    private TestUpstream(SessionServer server, Handler handler, string name)
    {
        _server = server;
        _handler = handler;
        Name = name;
    }

    public string Name { get; }

    public IPEndPoint EndPoint => _server.LocalEndPoint;

    /// <summary>While true, datagrams are read and counted but not answered.</summary>
    public bool Silent
    {
        get => _handler.Silent;
        set => _handler.Silent = value;
    }

    /// <summary>When positive, every echo is preceded by a datagram of this many bytes (a reply too large to forward).</summary>
    public int OversizedReplyBytes
    {
        get => _handler.OversizedReplyBytes;
        set => _handler.OversizedReplyBytes = value;
    }

    /// <summary>A client id whose every datagram is answered with <see cref="FloodCount"/> copies after its echo.</summary>
    public int? FloodClientId
    {
        get => _handler.FloodClientId;
        set => _handler.FloodClientId = value;
    }

    public int FloodCount { get; set; }

    /// <summary>Datagrams received by client id.</summary>
    public ConcurrentDictionary<int, int> DatagramsByClient => _handler.ByClient;

    /// <summary>The client address the PROXY header of each client id's upstream session announced.</summary>
    public ConcurrentDictionary<int, IPEndPoint> AnnouncedClients => _handler.Announced;

    /// <summary>Datagrams that started with a PROXY v2 header, and those that did not.</summary>
    public int HeadersSeen => _handler.Headers;

    public int DatagramsWithoutHeader => _handler.WithoutHeader;

    /// <summary>Bytes of PROXY header checked: family byte of the last one.</summary>
    public byte LastFamily => _handler.LastFamily;

    public ServerStatistics Statistics => _server.GetStatistics();

    public static async Task<TestUpstream> StartAsync(string name, CancellationToken cancellationToken, IPAddress? address = null, int maxDatagramSize = 4096)
    {
        var handler = new Handler();
        SessionServer server = await SessionServer.StartAsync(
            new SessionServerOptions
            {
                EndPoint = new IPEndPoint(address ?? IPAddress.Loopback, 0),
                Placement = SessionPlacement.AddressMap,
                IoThreads = 1,
                MaxDatagramSize = maxDatagramSize,
                ListenerReceiveBufferSize = 8 << 20,
            },
            handler,
            cancellationToken: cancellationToken);
        var upstream = new TestUpstream(server, handler, name);
        handler.Owner = upstream;
        return upstream;
    }

    /// <summary>Closes the port: from now on datagrams sent to it are answered with ICMP port unreachable.</summary>
    public ValueTask CloseAsync() => _server.StopAsync(CancellationToken.None);

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    public override string ToString() => $"{Name} {EndPoint} clients={DatagramsByClient.Count} datagrams={DatagramsByClient.Values.Sum()}";

    private sealed class Handler : SessionHandler
    {
        public volatile bool Silent;
        public volatile int OversizedReplyBytes;
        public int? FloodClientId;
        public TestUpstream? Owner;
        public readonly ConcurrentDictionary<int, int> ByClient = new();
        public readonly ConcurrentDictionary<int, IPEndPoint> Announced = new();
        public int Headers;
        public int WithoutHeader;
        public byte LastFamily;

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            if (ProxyHeader.TryParse(datagram, out IPEndPoint? client, out byte family, out int headerLength))
            {
                session.UserState = client;
                Interlocked.Increment(ref Headers);
                LastFamily = family;
                datagram = datagram[headerLength..];
            }
            else
            {
                Interlocked.Increment(ref WithoutHeader);
            }

            if (datagram.Length >= 4)
            {
                int clientId = BinaryPrimitives.ReadInt32LittleEndian(datagram);
                ByClient.AddOrUpdate(clientId, 1, (_, n) => n + 1);
                if (session.UserState is IPEndPoint announced)
                {
                    Announced[clientId] = announced;
                }
            }

            if (Silent)
            {
                return;
            }

            if (OversizedReplyBytes > 0)
            {
                session.Send(new byte[OversizedReplyBytes]);
            }

            session.Send(datagram);
            if (datagram.Length >= 4 && BinaryPrimitives.ReadInt32LittleEndian(datagram) == FloodClientId)
            {
                for (int i = 0; i < Owner!.FloodCount; i++)
                {
                    session.Send(datagram);
                }
            }
        }
    }
}
