using System.Net.Sockets;
using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// One socket of the <see cref="ListenerGroup"/>: read in batches by its own I/O thread (recvmmsg into a
/// <see cref="ReceiveBatch"/>), and used to answer sessions that have no socket of their own.
/// </summary>
internal sealed unsafe class LinuxListener : IDisposable
{
    private LinuxListener(SafeFdHandle socket, PeerAddress local, int receiveBufferBytes)
    {
        Socket = socket;
        Local = local;
        IsWildcard = local.IsAny;
        ReceiveBufferBytes = receiveBufferBytes;
    }

    public SafeFdHandle Socket { get; }

    /// <summary>The bound address and the port actually bound (port 0 resolved).</summary>
    public PeerAddress Local { get; }

    /// <summary>True when bound to 0.0.0.0 or ::, so each datagram's destination is learned from IP_PKTINFO.</summary>
    public bool IsWildcard { get; }

    /// <summary>The receive buffer the kernel granted (SO_RCVBUF as read back: twice what was asked, for its overhead).</summary>
    public int ReceiveBufferBytes { get; }

    /// <summary>Opens one listener; <paramref name="steering"/> is given to the first of the group only (see <see cref="ListenerGroup"/>).</summary>
    public static LinuxListener Open(in PeerAddress address, SessionServerOptions options, SockFilter[]? steering)
    {
        SafeFdHandle socket = LinuxSocket.Create(address.IsIPv6, out int errno) ?? throw new SocketException(errno);
        try
        {
            if (address.IsIPv6)
            {
                // [::] serves IPv4 too, as a .NET DualMode socket would; a specific IPv6 address serves only itself.
                Check(LinuxSocket.SetOption(socket, IPPROTO_IPV6, IPV6_V6ONLY, address.IsAny ? 0 : 1));
            }

            Check(LinuxSocket.SetReceiveBufferSize(socket, options.ListenerReceiveBufferSize));
            Check(LinuxSocket.SetBufferSizes(socket, 0, options.SendBufferSize));
            if (address.IsAny)
            {
                Check(address.IsIPv6 ? LinuxSocket.SetOption(socket, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) : LinuxSocket.SetOption(socket, IPPROTO_IP, IP_PKTINFO, 1));
            }

            Check(LinuxSocket.SetOption(socket, SOL_SOCKET, SO_REUSEPORT, 1));
            if (steering is not null)
            {
                Check(LinuxSocket.AttachReusePortProgram(socket, steering));
            }

            Check(LinuxSocket.Bind(socket, address));
            return new LinuxListener(socket, LinuxSocket.GetLocalAddress(socket), LinuxSocket.GetOption(socket, SOL_SOCKET, SO_RCVBUF));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends one datagram to a peer that has no socket of its own, from its session's local address on a wildcard listener.</summary>
    public nint SendTo(ReadOnlySpan<byte> datagram, in PeerAddress peer, in PeerAddress local, out int errno)
    {
        byte* name = stackalloc byte[PeerAddress.SockAddrV6Length];
        byte* control = stackalloc byte[PacketInfo.ControlSize];
        fixed (byte* data = datagram)
        {
            IoVec iov = new() { Base = data, Length = (nuint)datagram.Length };
            MsgHdr message = new()
            {
                Name = name,
                NameLength = (uint)peer.WriteLinuxSockAddr(new Span<byte>(name, PeerAddress.SockAddrV6Length)),
                Iov = &iov,
                IovLength = 1,
            };
            if (IsWildcard)
            {
                message.Control = control;
                message.ControlLength = (nuint)PacketInfo.WriteSource(control, local);
            }

            nint sent = Libc.SendMsg(Socket, &message, 0);
            errno = sent < 0 ? Marshal.GetLastPInvokeError() : 0;
            return sent;
        }
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
