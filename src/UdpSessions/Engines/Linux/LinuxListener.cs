using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>The well-known socket: binds the endpoint and reads datagrams with their source and destination.</summary>
internal sealed unsafe class LinuxListener : IDisposable
{
    /// <summary>Room for one in_pktinfo or in6_pktinfo control message.</summary>
    public static readonly int ControlBufferSize = CMsgHdr.Space(sizeof(In6PktInfo)) + CMsgHdr.Space(sizeof(InPktInfo));

    private LinuxListener(SafeFdHandle socket, PeerAddress local)
    {
        Socket = socket;
        Local = local;
        IsWildcard = local.IsAny;
    }

    public SafeFdHandle Socket { get; }

    /// <summary>The bound address and the port actually bound (port 0 resolved).</summary>
    public PeerAddress Local { get; }

    /// <summary>True when bound to 0.0.0.0 or ::, so each session's local address is learned from IP_PKTINFO.</summary>
    public bool IsWildcard { get; }

    public static LinuxListener Open(SessionServerOptions options)
    {
        IPEndPoint endPoint = options.EndPoint;
        bool ipv6 = endPoint.AddressFamily == AddressFamily.InterNetworkV6;
        SafeFdHandle socket = LinuxSocket.Create(ipv6, out int errno) ?? throw new SocketException(errno);
        try
        {
            PeerAddress address = PeerAddress.FromIPEndPoint(endPoint);
            if (ipv6)
            {
                // [::] serves IPv4 too, as a .NET DualMode socket would; a specific IPv6 address serves only itself.
                Check(LinuxSocket.SetOption(socket, IPPROTO_IPV6, IPV6_V6ONLY, address.IsAny ? 0 : 1));
            }

            Check(LinuxSocket.SetBufferSizes(socket, options.ListenerReceiveBufferSize, options.SendBufferSize));
            if (address.IsAny)
            {
                Check(ipv6 ? LinuxSocket.SetOption(socket, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) : LinuxSocket.SetOption(socket, IPPROTO_IP, IP_PKTINFO, 1));
            }

            // Bind before SO_REUSEADDR so that a port already in use fails loudly here instead of silently sharing it;
            // the kernel checks the flag when the session sockets bind later, and by then it is set.
            Check(LinuxSocket.Bind(socket, address));
            Check(LinuxSocket.SetOption(socket, SOL_SOCKET, SO_REUSEADDR, 1));
            return new LinuxListener(socket, LinuxSocket.GetLocalAddress(socket));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads one datagram into <paramref name="buffer"/>. Returns its full length (larger than the buffer when it was
    /// cut: MSG_TRUNC), or -1 with <paramref name="errno"/> set.
    /// </summary>
    public nint Receive(Span<byte> buffer, byte* sockaddr, byte* control, out PeerAddress peer, out PeerAddress local, out int errno)
    {
        fixed (byte* data = buffer)
        {
            IoVec iov = new() { Base = data, Length = (nuint)buffer.Length };
            MsgHdr message = new()
            {
                Name = sockaddr,
                NameLength = 128,
                Iov = &iov,
                IovLength = 1,
                Control = IsWildcard ? control : null,
                ControlLength = IsWildcard ? (nuint)ControlBufferSize : 0,
            };
            nint received = Libc.RecvMsg(Socket, &message, MSG_TRUNC);
            if (received < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                peer = local = default;
                return -1;
            }

            errno = 0;
            peer = PeerAddress.FromLinuxSockAddr(new ReadOnlySpan<byte>(sockaddr, (int)message.NameLength));
            local = IsWildcard ? DestinationOf(&message) : Local;
            return received;
        }
    }

    /// <summary>Sends to a peer through the listener, from the session's local address when the listener is a wildcard.</summary>
    public nint SendTo(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> peerSockAddr, in PeerAddress local, out int errno)
    {
        byte* control = stackalloc byte[ControlBufferSize];
        fixed (byte* data = datagram)
        fixed (byte* name = peerSockAddr)
        {
            IoVec iov = new() { Base = data, Length = (nuint)datagram.Length };
            MsgHdr message = new() { Name = name, NameLength = (uint)peerSockAddr.Length, Iov = &iov, IovLength = 1 };
            if (IsWildcard)
            {
                message.Control = control;
                message.ControlLength = (nuint)WriteSource(control, local);
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

    private PeerAddress DestinationOf(MsgHdr* message)
    {
        byte* cmsg = message->Control;
        byte* end = cmsg + message->ControlLength;
        while (cmsg + sizeof(CMsgHdr) <= end)
        {
            CMsgHdr* header = (CMsgHdr*)cmsg;
            if (header->Length < (nuint)sizeof(CMsgHdr))
            {
                break;
            }

            byte* data = cmsg + CMsgHdr.DataOffset;
            if (header->Level == IPPROTO_IP && header->Type == IP_PKTINFO)
            {
                return PeerAddress.Create(new ReadOnlySpan<byte>(&((InPktInfo*)data)->HeaderDestination, 4), Local.Port);
            }

            if (header->Level == IPPROTO_IPV6 && header->Type == IPV6_PKTINFO)
            {
                In6PktInfo* info = (In6PktInfo*)data;
                var address = PeerAddress.Create(new ReadOnlySpan<byte>(info->Address, 16), Local.Port);
                return address.IsLinkLocal ? PeerAddress.Create(new ReadOnlySpan<byte>(info->Address, 16), Local.Port, info->InterfaceIndex) : address;
            }

            cmsg += (header->Length + (nuint)nint.Size - 1) & ~((nuint)nint.Size - 1);
        }

        return Local; // no pktinfo (should not happen with the option set): answer from the bound address
    }

    private int WriteSource(byte* control, in PeerAddress local)
    {
        new Span<byte>(control, ControlBufferSize).Clear();
        CMsgHdr* header = (CMsgHdr*)control;
        Span<byte> sockaddr = stackalloc byte[PeerAddress.SockAddrV6Length];
        local.WriteLinuxSockAddr(sockaddr);
        if (!local.IsIPv6)
        {
            header->Level = IPPROTO_IP;
            header->Type = IP_PKTINFO;
            header->Length = (nuint)(CMsgHdr.DataOffset + sizeof(InPktInfo));
            sockaddr.Slice(4, 4).CopyTo(new Span<byte>(&((InPktInfo*)(control + CMsgHdr.DataOffset))->SpecificDestination, 4));
            return CMsgHdr.Space(sizeof(InPktInfo));
        }

        header->Level = IPPROTO_IPV6;
        header->Type = IPV6_PKTINFO;
        header->Length = (nuint)(CMsgHdr.DataOffset + sizeof(In6PktInfo));
        sockaddr.Slice(8, 16).CopyTo(new Span<byte>(((In6PktInfo*)(control + CMsgHdr.DataOffset))->Address, 16));
        return CMsgHdr.Space(sizeof(In6PktInfo));
    }
}
