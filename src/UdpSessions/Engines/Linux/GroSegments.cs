using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// UDP generic receive offload (UDP_GRO, Linux 5.0): the kernel may hand a run of one flow's datagrams over in one read,
/// all of one size but the last, with that size in a control message. This splits a batch's coalesced reads back into
/// the datagrams they were, so that the loop delivers (and counts) datagrams, never reads.
/// </summary>
internal sealed unsafe class GroSegments
{
    /// <summary>A slot must hold any coalesced read whole (at most one UDP payload of 64 KiB).</summary>
    public const int SlotLength = 64 << 10;

    /// <summary>Room for the UDP_GRO control message (an int segment size).</summary>
    public static readonly int ControlSize = CMsgHdr.Space(sizeof(int));

    private readonly LoopCounters _counters;
    private int[] _read = [];
    private int[] _offset = [];
    private int[] _length = [];

    public GroSegments(LoopCounters counters) => _counters = counters;

    /// <summary>Asks the kernel for coalesced reads on <paramref name="socket"/>; a kernel that refuses is counted and read as before.</summary>
    public static void Enable(SafeFdHandle socket, SendCounters counters)
    {
        if (LinuxSocket.SetOption(socket, SOL_UDP, UDP_GRO, 1) != 0)
        {
            Interlocked.Increment(ref counters.ReceiveCoalescingRefused);
        }
    }

    /// <summary>The read this datagram came from.</summary>
    public int Read(int index) => _read[index];

    /// <summary>Where the datagram starts in its read's slot.</summary>
    public int Offset(int index) => _offset[index];

    public int Length(int index) => _length[index];

    /// <summary>
    /// Looks for coalesced reads among the first <paramref name="reads"/> messages. Returns the number of datagrams
    /// they hold when there are some (then <see cref="Read"/>, <see cref="Offset"/> and <see cref="Length"/> describe
    /// each), or -1 when every read is one datagram.
    /// </summary>
    public int Split(MMsgHdr* messages, int reads, int maxDatagramSize)
    {
        int first = 0;
        while (first < reads && !IsCoalesced(&messages[first]))
        {
            first++;
        }

        if (first == reads)
        {
            return -1;
        }

        int count = 0;
        for (int r = 0; r < reads; r++)
        {
            int length = (int)messages[r].Length;
            int segment = r >= first ? SegmentSize(&messages[r].Header) : 0;
            if (segment <= 0 || segment >= length)
            {
                Add(ref count, r, 0, length);
                continue;
            }

            _counters.CoalescedReads++;
            for (int offset = 0; offset < length; offset += segment)
            {
                int size = Math.Min(segment, length - offset);
                if (size > maxDatagramSize)
                {
                    _counters.OversizedSegments++; // dropped (and counted as Oversized) by the loop, alone
                }

                Add(ref count, r, offset, size);
            }
        }

        return count;
    }

    private static bool IsCoalesced(MMsgHdr* message) =>
        message->Header.ControlLength != 0 && SegmentSize(&message->Header) is var segment && segment > 0 && segment < (int)message->Length;

    /// <summary>The segment size of a coalesced read (the UDP_GRO control message, which the kernel writes first), or 0.</summary>
    private static int SegmentSize(MsgHdr* header)
    {
        byte* cmsg = (byte*)header->Control;
        byte* end = cmsg + header->ControlLength;
        while (cmsg + sizeof(CMsgHdr) <= end)
        {
            CMsgHdr* h = (CMsgHdr*)cmsg;
            if (h->Length < (nuint)sizeof(CMsgHdr))
            {
                break;
            }

            if (h->Level == SOL_UDP && h->Type == UDP_GRO)
            {
                return *(int*)(cmsg + CMsgHdr.DataOffset);
            }

            cmsg += (h->Length + (nuint)nint.Size - 1) & ~((nuint)nint.Size - 1);
        }

        return 0;
    }

    private void Add(ref int count, int read, int offset, int length)
    {
        if (count == _read.Length)
        {
            int size = Math.Max(256, count * 2);
            Array.Resize(ref _read, size);
            Array.Resize(ref _offset, size);
            Array.Resize(ref _length, size);
        }

        _read[count] = read;
        _offset[count] = offset;
        _length[count] = length;
        count++;
    }
}
