using System.Net.Sockets;
using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// One socket of the <see cref="ListenerGroup"/>, read in batches by its own I/O thread (recvmmsg into a
/// <see cref="ReceiveBatch"/>), and its sending twin that answers the sessions without a socket of their own.
/// </summary>
/// <remarks>
/// Why two sockets: a socket in an epoll set has a sleeper on its wait queue for good, and the kernel wakes its wait
/// queue (the epoll callback, a spinlock with interrupts off) every time a datagram it sent is freed, to report room to
/// write. On the listener that costs every reply about 0.18 µs (measured with perf against a C recvmmsg server: the
/// largest difference between the two). The sender is bound to the same address and port in the same reuseport group,
/// after the listeners, so the steering program (indices of listeners only) never gives it anything to read, and nobody
/// ever waits on it.
/// </remarks>
internal sealed unsafe class LinuxListener : IDisposable
{
    private LinuxListener(SafeFdHandle socket, PeerAddress local, int receiveBufferBytes)
    {
        Socket = socket;
        Local = local;
        IsWildcard = local.IsAny;
        ReceiveBufferBytes = receiveBufferBytes;
    }

    /// <summary>The listening socket: in its loop's epoll, read, never written.</summary>
    public SafeFdHandle Socket { get; }

    /// <summary>
    /// The socket the replies of sessions without a socket of their own leave from (same address and port), made by
    /// <see cref="OpenSender"/> once every listener of the group is bound (a socket joining the group earlier would
    /// take a listener's index in it).
    /// </summary>
    public SafeFdHandle Sender { get; private set; } = null!;

    /// <summary>The bound address and the port actually bound (port 0 resolved).</summary>
    public PeerAddress Local { get; }

    /// <summary>True when bound to 0.0.0.0 or ::, so each datagram's destination is learned from IP_PKTINFO.</summary>
    public bool IsWildcard { get; }

    /// <summary>The receive buffer the kernel granted (SO_RCVBUF as read back: twice what was asked, for its overhead).</summary>
    public int ReceiveBufferBytes { get; }

    /// <summary>Opens one listener; <paramref name="steering"/> is given to the first of the group only (see <see cref="ListenerGroup"/>).</summary>
    public static LinuxListener Open(in PeerAddress address, SessionServerOptions options, SockFilter[]? steering)
    {
        SafeFdHandle socket = Bound(address, options, options.ListenerReceiveBufferSize, packetInfo: address.IsAny, steering);
        return new LinuxListener(socket, LinuxSocket.GetLocalAddress(socket), LinuxSocket.GetOption(socket, SOL_SOCKET, SO_RCVBUF));
    }

    /// <summary>
    /// Makes the sending twin (see the remarks); the group calls it after binding all its listeners. It also sets
    /// SO_REUSEADDR: a successor that takes the listeners over binds its twins while the predecessor's connected
    /// session sockets (SO_REUSEADDR without SO_REUSEPORT, see SessionSocketFactory) hold the port, and the kernel
    /// refuses a SO_REUSEPORT-only bind next to them. The port stays the owner's: its listeners never set SO_REUSEADDR.
    /// </summary>
    public void OpenSender(SessionServerOptions options) => Sender = Bound(Local, options, 0, packetInfo: false, steering: null, reuseAddress: true);

    /// <summary>
    /// Replies leave from the listener itself: in a group without the steering program (a shared port, a socket from
    /// systemd) a twin would be one more member the kernel's own hash could hand datagrams to, and nobody reads it.
    /// </summary>
    public void SendFromListener() => Sender = Socket;

    /// <summary>
    /// Takes a socket bound by someone else (systemd, or the process handing its listeners over): it is made
    /// non-blocking and given the listener's buffer and packet-info options; its binding and group are kept.
    /// </summary>
    public static LinuxListener Adopt(SafeFdHandle socket, SessionServerOptions options)
    {
        PeerAddress local = LinuxSocket.GetLocalAddress(socket);
        int flags = Libc.Fcntl(socket, F_GETFL, 0);
        Check(flags < 0 || Libc.Fcntl(socket, F_SETFL, flags | O_NONBLOCK) < 0 ? Marshal.GetLastPInvokeError() : 0);
        Check(LinuxSocket.SetReceiveBufferSize(socket, options.ListenerReceiveBufferSize));
        if (local.IsAny)
        {
            Check(local.IsIPv6 ? LinuxSocket.SetOption(socket, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) : LinuxSocket.SetOption(socket, IPPROTO_IP, IP_PKTINFO, 1));
        }

        return new LinuxListener(socket, local, LinuxSocket.GetOption(socket, SOL_SOCKET, SO_RCVBUF));
    }

    /// <summary>A socket of the group, bound to <paramref name="address"/> (the sender joins after every listener).</summary>
    private static SafeFdHandle Bound(in PeerAddress address, SessionServerOptions options, int receiveBuffer, bool packetInfo, SockFilter[]? steering, bool reuseAddress = false)
    {
        SafeFdHandle socket = LinuxSocket.Create(address.IsIPv6, out int errno) ?? throw new SocketException(errno);
        try
        {
            if (address.IsIPv6)
            {
                // [::] serves IPv4 too, as a .NET DualMode socket would; a specific IPv6 address serves only itself.
                Check(LinuxSocket.SetOption(socket, IPPROTO_IPV6, IPV6_V6ONLY, address.IsAny ? 0 : 1));
            }

            Check(LinuxSocket.SetReceiveBufferSize(socket, receiveBuffer));
            Check(LinuxSocket.SetBufferSizes(socket, 0, options.SendBufferSize));
            if (packetInfo)
            {
                Check(address.IsIPv6 ? LinuxSocket.SetOption(socket, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) : LinuxSocket.SetOption(socket, IPPROTO_IP, IP_PKTINFO, 1));
            }

            Check(LinuxSocket.SetOption(socket, SOL_SOCKET, SO_REUSEPORT, 1));
            if (reuseAddress)
            {
                Check(LinuxSocket.SetOption(socket, SOL_SOCKET, SO_REUSEADDR, 1));
            }

            if (steering is not null)
            {
                Check(LinuxSocket.AttachReusePortProgram(socket, steering));
            }

            Check(LinuxSocket.Bind(socket, address));
            return socket;
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

            nint sent = Libc.SendMsg(Sender, &message, 0);
            errno = sent < 0 ? Marshal.GetLastPInvokeError() : 0;
            return sent;
        }
    }

    public void Dispose()
    {
        Socket.Dispose();
        Sender?.Dispose();
    }

    /// <summary>Closes the sending twin (a member the steering program never picks: its leaving moves no listener).</summary>
    public void CloseSender()
    {
        if (Sender != Socket)
        {
            Sender?.Dispose();
        }
    }

    private static void Check(int errno)
    {
        if (errno != 0)
        {
            throw new SocketException(errno);
        }
    }
}
