using UdpSessions.Interop.Linux;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// UDP generic segmentation offload (UDP_SEGMENT, Linux 4.18): one send of a buffer that the kernel (or the NIC) cuts
/// into datagrams of a fixed size, the last one possibly shorter. The peer receives exactly the datagrams that
/// separate sends would have made; the sender pays for one trip through the stack instead of one per datagram.
/// </summary>
internal static unsafe class UdpSegmentation
{
    /// <summary>
    /// The most segments one send may carry: UDP_MAX_SEGMENTS, 64 before Linux 6.5 (128 since); the older limit
    /// works everywhere.
    /// </summary>
    public const int MaxSegments = 64;

    /// <summary>
    /// The most payload one send may carry: an IPv4 datagram's 65,535 bytes less its IP and UDP headers (the kernel
    /// builds the whole buffer as one IP packet before it cuts it).
    /// </summary>
    public const int MaxPayload = 65_507;

    /// <summary>
    /// The largest datagrams that replies are coalesced into segments of without being asked (an explicit batch may
    /// use any size): 1,232 bytes, the payload of a 1,280-byte IPv6 packet, fits the MTU of every IPv6 link and of
    /// almost every IPv4 one, so the kernel does not refuse the send for a segment larger than the route's MTU.
    /// </summary>
    public const int AutoMaxSegmentSize = 1_232;

    /// <summary>Room for the UDP_SEGMENT control message (a u16 segment size).</summary>
    public static readonly int ControlSize = CMsgHdr.Space(sizeof(ushort));

    /// <summary>
    /// The errors with which the kernel refuses a segmented send it would have taken as separate datagrams: EIO (the
    /// route's device cannot checksum the segments), EINVAL (a segment larger than the route's MTU, checksums turned
    /// off, a kernel that does not know the option), ENOPROTOOPT and EOPNOTSUPP.
    /// </summary>
    public static bool IsRefusal(int errno) => errno is Errno.EIO or Errno.EINVAL or Errno.ENOPROTOOPT or Errno.EOPNOTSUPP;

    /// <summary>How many segments of <paramref name="segmentSize"/> bytes one send may carry.</summary>
    public static int SegmentsPerSend(int segmentSize) => Math.Clamp(MaxPayload / segmentSize, 1, MaxSegments);

    /// <summary>
    /// Readies a socket the engine sends from; with <see cref="SessionServerOptions.RefuseSegmentationForTests"/> it
    /// turns checksums off, with which the kernel refuses every UDP_SEGMENT send (EINVAL).
    /// </summary>
    public static void PrepareSender(SafeFdHandle socket, SessionServerOptions options)
    {
        if (options.RefuseSegmentationForTests)
        {
            LinuxSocket.SetOption(socket, SOL_SOCKET, SO_NO_CHECK, 1);
        }
    }

    /// <summary>Writes the UDP_SEGMENT control message at <paramref name="control"/>; returns its length.</summary>
    public static int WriteSegmentSize(byte* control, int segmentSize)
    {
        new Span<byte>(control, ControlSize).Clear();
        CMsgHdr* header = (CMsgHdr*)control;
        header->Level = SOL_UDP;
        header->Type = UDP_SEGMENT;
        header->Length = (nuint)(CMsgHdr.DataOffset + sizeof(ushort));
        *(ushort*)(control + CMsgHdr.DataOffset) = (ushort)segmentSize;
        return ControlSize;
    }

    /// <summary>
    /// Sends <paramref name="payload"/> as segments of <paramref name="segmentSize"/> with one sendmsg, on a connected
    /// socket (<paramref name="name"/> null) or to a peer, with an optional source control message already written at
    /// <paramref name="control"/> (<paramref name="controlLength"/> bytes, room for <see cref="ControlSize"/> more).
    /// Returns 0 or the errno.
    /// </summary>
    public static int Send(SafeFdHandle socket, ReadOnlySpan<byte> payload, int segmentSize, byte* name, uint nameLength, byte* control, int controlLength)
    {
        fixed (byte* data = payload)
        {
            IoVec iov = new() { Base = data, Length = (nuint)payload.Length };
            MsgHdr message = new() { Name = name, NameLength = nameLength, Iov = &iov, IovLength = 1, Control = control };
            message.ControlLength = (nuint)(controlLength + WriteSegmentSize(control + controlLength, segmentSize));
            while (true)
            {
                if (Libc.SendMsg(socket, &message, 0) >= 0)
                {
                    return 0;
                }

                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR)
                {
                    return errno;
                }
            }
        }
    }
}
