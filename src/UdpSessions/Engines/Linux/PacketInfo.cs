using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// IP_PKTINFO / IPV6_PKTINFO control messages: on a wildcard listener they tell which address a datagram was sent to
/// (the session's local address) and choose the source address of a reply, so a peer always hears back from the
/// address it wrote to.
/// </summary>
internal static unsafe class PacketInfo
{
    /// <summary>Room for one in_pktinfo or in6_pktinfo control message.</summary>
    public static readonly int ControlSize = CMsgHdr.Space(sizeof(In6PktInfo)) + CMsgHdr.Space(sizeof(InPktInfo));

    /// <summary>The destination address of a received datagram, or <paramref name="fallback"/> when the message carries none.</summary>
    public static PeerAddress Destination(byte* control, nuint controlLength, in PeerAddress fallback)
    {
        byte* cmsg = control;
        byte* end = control + controlLength;
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
                return PeerAddress.Create(new ReadOnlySpan<byte>(&((InPktInfo*)data)->HeaderDestination, 4), fallback.Port);
            }

            if (header->Level == IPPROTO_IPV6 && header->Type == IPV6_PKTINFO)
            {
                In6PktInfo* info = (In6PktInfo*)data;
                var address = PeerAddress.Create(new ReadOnlySpan<byte>(info->Address, 16), fallback.Port);
                return address.IsLinkLocal ? PeerAddress.Create(new ReadOnlySpan<byte>(info->Address, 16), fallback.Port, info->InterfaceIndex) : address;
            }

            cmsg += (header->Length + (nuint)nint.Size - 1) & ~((nuint)nint.Size - 1);
        }

        return fallback; // no pktinfo (should not happen with the option set): answer from the bound address
    }

    /// <summary>Writes the control message that makes a reply leave from <paramref name="local"/>; returns its length.</summary>
    public static int WriteSource(byte* control, in PeerAddress local)
    {
        new Span<byte>(control, ControlSize).Clear();
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
