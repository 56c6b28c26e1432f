using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using UdpSessions.Internal;

namespace UdpSessions.Engines;

/// <summary>
/// The engine for platforms without a native one: one .NET <see cref="Socket"/>, one I/O thread, every session in the
/// address map and every reply sent through the listener with <c>SendTo</c>. It allocates nothing per datagram but
/// has none of the connected-socket advantages.
/// </summary>
internal sealed class PortableEngine : UdpEngine
{
    [ThreadStatic]
    private static SocketAddress? t_challengeAddress;

    private Socket? _socket;
    private PortableLoop[] _loops = [];

    public PortableEngine(SessionServerOptions options, SessionHandler handler, ILogger logger)
        : base(options, handler, logger)
    {
    }

    public override string Description => "portable";

    public override IReadOnlyList<IoLoop> Loops => _loops;

    public Socket Socket => _socket ?? throw new InvalidOperationException("The engine is not started.");

    public override void Start()
    {
        IPEndPoint endPoint = Options.EndPoint;
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            if (OperatingSystem.IsWindows())
            {
                // Without this an ICMP port unreachable for one peer fails the next receive of the shared socket.
                const int SIO_UDP_CONNRESET = -1744830452;
                socket.IOControl(SIO_UDP_CONNRESET, [0, 0, 0, 0], null);
            }

            if (Options.ListenerReceiveBufferSize > 0)
            {
                socket.ReceiveBufferSize = Options.ListenerReceiveBufferSize;
            }

            if (Options.SendBufferSize > 0)
            {
                socket.SendBufferSize = Options.SendBufferSize;
            }

            socket.Bind(endPoint);
            // The loop polls its commands and timers between receives.
            socket.ReceiveTimeout = PortableLoop.PollMilliseconds;
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _socket = socket;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        _loops = [new PortableLoop(this)];
        _loops[0].Start();
    }

    public override bool OffersSessionSockets => false;

    protected override bool TryCreateSessionSocket(Session session) => false;

    protected override void PrepareSendsThroughListener(Session session) => session.PeerNativeAddress = session.RemoteEndPoint.Serialize();

    protected override SendStatus SendCore(Session session, ReadOnlySpan<byte> datagram, bool mayQueue)
    {
        try
        {
            Socket.SendTo(datagram, SocketFlags.None, (SocketAddress)session.PeerNativeAddress!);
            return SendStatus.Sent;
        }
        catch (SocketException exception)
        {
            return exception.SocketErrorCode switch
            {
                SocketError.WouldBlock or SocketError.NoBufferSpaceAvailable => SendStatus.WouldBlock,
                SocketError.ConnectionRefused or SocketError.ConnectionReset => SendStatus.PeerUnreachable,
                SocketError.MessageSize => throw DatagramTooLarge(datagram.Length),
                _ => SendStatus.Failed,
            };
        }
    }

    public override bool SendFromListener(in PeerAddress peer, in PeerAddress local, ReadOnlySpan<byte> datagram)
    {
        // Called on I/O threads only; one reusable address per thread keeps the challenge path allocation-free.
        SocketAddress address = t_challengeAddress is { } cached && cached.Family == Socket.AddressFamily
            ? cached
            : t_challengeAddress = new SocketAddress(Socket.AddressFamily);
        peer.WriteSocketAddress(address);
        try
        {
            Socket.SendTo(datagram, SocketFlags.None, address);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    protected override bool PollWritable(Session session, int timeoutMilliseconds) =>
        Socket.Poll(timeoutMilliseconds * 1000, SelectMode.SelectWrite);

    protected override void ReleaseListener() => _socket?.Dispose();
}
