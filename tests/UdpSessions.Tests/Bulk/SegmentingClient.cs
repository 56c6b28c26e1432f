using System.Net;
using System.Net.Sockets;
using UdpSessions.Engines.Linux;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;

namespace UdpSessions.Tests.Bulk;

/// <summary>
/// A client that sends runs of datagrams the way msquic or quinn do: one sendmsg with UDP_SEGMENT per run, which the
/// kernel cuts into datagrams (on loopback it hands the whole buffer to a receiving socket that asked for UDP_GRO).
/// Built on the project's Linux interop, a plain non-blocking UDP socket.
/// </summary>
internal sealed unsafe class SegmentingClient : IDisposable
{
    private readonly SafeFdHandle _socket;
    private readonly PeerAddress _server;

    public SegmentingClient(IPEndPoint server)
    {
        _server = PeerAddress.FromIPEndPoint(server);
        _socket = LinuxSocket.Create(_server.IsIPv6, out int errno) ?? throw new SocketException(errno);
        Assert.Equal(0, LinuxSocket.SetOption(_socket, SocketConstants.SOL_SOCKET, SocketConstants.SO_SNDBUF, 4 << 20));
    }

    /// <summary>Sends <paramref name="payload"/> as datagrams of <paramref name="segmentSize"/> bytes (the last may be shorter) in one system call.</summary>
    public void SendRun(ReadOnlySpan<byte> payload, int segmentSize)
    {
        byte* name = stackalloc byte[PeerAddress.SockAddrV6Length];
        byte* control = stackalloc byte[UdpSegmentation.ControlSize];
        uint nameLength = (uint)_server.WriteLinuxSockAddr(new Span<byte>(name, PeerAddress.SockAddrV6Length));
        int errno = UdpSegmentation.Send(_socket, payload, segmentSize, name, nameLength, control, 0);
        Assert.True(errno == 0, $"sendmsg with UDP_SEGMENT failed with errno {errno}");
    }

    public void Dispose() => _socket.Dispose();
}
