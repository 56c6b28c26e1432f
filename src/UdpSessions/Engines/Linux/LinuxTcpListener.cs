using System.Net.Sockets;
using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>The epoll engine's listening TCP socket: non-blocking, in every loop's epoll; accept4 hands out non-blocking connections.</summary>
internal sealed unsafe class LinuxTcpListener : IDisposable
{
    private LinuxTcpListener(SafeFdHandle socket, PeerAddress local)
    {
        Socket = socket;
        Local = local;
    }

    public SafeFdHandle Socket { get; }

    public PeerAddress Local { get; }

    public static LinuxTcpListener Open(SessionServerOptions options)
    {
        PeerAddress address = PeerAddress.FromIPEndPoint(options.EndPoint);
        int fd = Libc.Socket(address.IsIPv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        var socket = fd >= 0 ? new SafeFdHandle(fd) : throw new SocketException(Marshal.GetLastPInvokeError());
        try
        {
            // Restarting a server must not wait for the old connections' TIME_WAIT.
            Check(LinuxSocket.SetOption(socket, SOL_SOCKET, SO_REUSEADDR, 1));
            if (address.IsIPv6)
            {
                Check(LinuxSocket.SetOption(socket, IPPROTO_IPV6, IPV6_V6ONLY, address.IsAny ? 0 : 1));
            }

            Check(LinuxSocket.SetBufferSizes(socket, options.SessionReceiveBufferSize, options.SendBufferSize));
            Check(LinuxSocket.Bind(socket, address));
            Check(Libc.Listen(socket, options.Tcp.ListenBacklog) == 0 ? 0 : Marshal.GetLastPInvokeError());
            return new LinuxTcpListener(socket, LinuxSocket.GetLocalAddress(socket));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>One accept4; null with <paramref name="errno"/> when there is nothing to accept or it failed.</summary>
    public SafeFdHandle? Accept(byte* sockaddr, out PeerAddress peer, out int errno)
    {
        uint length = 128;
        int fd = Libc.Accept4(Socket, sockaddr, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            peer = default;
            return null;
        }

        errno = 0;
        peer = PeerAddress.FromLinuxSockAddr(new ReadOnlySpan<byte>(sockaddr, (int)length));
        return new SafeFdHandle(fd);
    }

    public void Dispose() => Socket.Dispose();

    private static void Check(int errno)
    {
        if (errno != 0)
        {
            throw new SocketException(errno);
        }
    }
}
