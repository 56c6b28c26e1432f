using System.Net.Sockets;
using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>Socket set-up calls with errno results, shared by the listener and session sockets.</summary>
internal static unsafe class LinuxSocket
{
    /// <summary>A non-blocking, close-on-exec UDP socket, or null with <paramref name="errno"/> set.</summary>
    public static SafeFdHandle? Create(bool ipv6, out int errno)
    {
        int fd = Libc.Socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd < 0 ? null : new SafeFdHandle(fd);
    }

    public static int SetOption(SafeFdHandle socket, int level, int name, int value) =>
        Libc.SetSockOpt(socket, level, name, &value, sizeof(int)) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static int Bind(SafeFdHandle socket, in PeerAddress address)
    {
        byte* sockaddr = stackalloc byte[PeerAddress.SockAddrV6Length];
        int length = address.WriteLinuxSockAddr(new Span<byte>(sockaddr, PeerAddress.SockAddrV6Length));
        return Libc.Bind(socket, sockaddr, (uint)length) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    public static int Connect(SafeFdHandle socket, in PeerAddress address)
    {
        byte* sockaddr = stackalloc byte[PeerAddress.SockAddrV6Length];
        int length = address.WriteLinuxSockAddr(new Span<byte>(sockaddr, PeerAddress.SockAddrV6Length));
        return Libc.Connect(socket, sockaddr, (uint)length) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>connect(AF_UNSPEC): dissolves the association; a socket whose address was not bound explicitly returns to the wildcard.</summary>
    public static int Disconnect(SafeFdHandle socket)
    {
        byte* unspecified = stackalloc byte[PeerAddress.SockAddrV6Length];
        new Span<byte>(unspecified, PeerAddress.SockAddrV6Length).Clear();
        return Libc.Connect(socket, unspecified, PeerAddress.SockAddrV6Length) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    public static PeerAddress GetLocalAddress(SafeFdHandle socket)
    {
        byte* sockaddr = stackalloc byte[128];
        uint length = 128;
        if (Libc.GetSockName(socket, sockaddr, &length) != 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        return PeerAddress.FromLinuxSockAddr(new ReadOnlySpan<byte>(sockaddr, (int)length));
    }

    public static int GetOption(SafeFdHandle socket, int level, int name)
    {
        int value = 0;
        uint length = sizeof(int);
        return Libc.GetSockOpt(socket, level, name, &value, &length) == 0 ? value : -1;
    }

    /// <summary>
    /// SO_RCVBUF of <paramref name="bytes"/> (0 keeps the default). With CAP_NET_ADMIN it is taken as asked
    /// (SO_RCVBUFFORCE); otherwise the kernel caps it at net.core.rmem_max.
    /// </summary>
    public static int SetReceiveBufferSize(SafeFdHandle socket, int bytes)
    {
        if (bytes <= 0)
        {
            return 0;
        }

        return SetOption(socket, SOL_SOCKET, SO_RCVBUFFORCE, bytes) == 0 ? 0 : SetOption(socket, SOL_SOCKET, SO_RCVBUF, bytes);
    }

    /// <summary>Gives the socket's SO_REUSEPORT group a classic BPF program that picks the socket for each datagram.</summary>
    public static int AttachReusePortProgram(SafeFdHandle socket, SockFilter[] program)
    {
        fixed (SockFilter* code = program)
        {
            SockFprog fprog = new() { Length = (ushort)program.Length, Filter = code };
            return Libc.SetSockOpt(socket, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, (uint)sizeof(SockFprog)) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>shutdown(SHUT_WR): from here on every send on the socket fails with EPIPE instead of going anywhere.</summary>
    public static int ShutdownWrite(SafeFdHandle socket) => Libc.Shutdown(socket, 1) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>Sets the buffer sizes that are configured (0 keeps the kernel default).</summary>
    public static int SetBufferSizes(SafeFdHandle socket, int receiveBufferSize, int sendBufferSize)
    {
        int errno = receiveBufferSize > 0 ? SetOption(socket, SOL_SOCKET, SO_RCVBUF, receiveBufferSize) : 0;
        return errno != 0 ? errno : sendBufferSize > 0 ? SetOption(socket, SOL_SOCKET, SO_SNDBUF, sendBufferSize) : 0;
    }
}
