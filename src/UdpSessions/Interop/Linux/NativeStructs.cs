using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace UdpSessions.Interop.Linux;

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVec
{
    public byte* Base;
    public nuint Length;
}

/// <summary>struct msghdr (LP64 layout: the runtime's natural alignment reproduces the C padding).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsgHdr
{
    public byte* Name;
    public uint NameLength;
    public IoVec* Iov;
    public nuint IovLength;
    public byte* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>struct mmsghdr: one message of recvmmsg/sendmmsg and the byte count the kernel transferred for it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MMsgHdr
{
    public MsgHdr Header;
    public uint Length;
}

/// <summary>struct sock_filter: one classic BPF instruction.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SockFilter
{
    public ushort Code;
    public byte JumpTrue;
    public byte JumpFalse;
    public uint K;
}

/// <summary>struct sock_fprog: a classic BPF program for setsockopt.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SockFprog
{
    public ushort Length;
    public SockFilter* Filter;
}

/// <summary>struct cmsghdr; its data starts at <see cref="DataOffset"/> (CMSG_ALIGN(sizeof(cmsghdr))).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CMsgHdr
{
    public nuint Length;
    public int Level;
    public int Type;

    public static readonly unsafe int DataOffset = (sizeof(CMsgHdr) + nint.Size - 1) & ~(nint.Size - 1);

    public static int Space(int dataLength) => DataOffset + ((dataLength + nint.Size - 1) & ~(nint.Size - 1));
}

/// <summary>struct in_pktinfo: interface, local address the route chose, and the header's destination address.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct InPktInfo
{
    public int InterfaceIndex;
    public uint SpecificDestination;
    public uint HeaderDestination;
}

/// <summary>struct in6_pktinfo.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct In6PktInfo
{
    public fixed byte Address[16];
    public uint InterfaceIndex;
}

[StructLayout(LayoutKind.Sequential)]
internal struct PollFd
{
    public int Fd;
    public short Events;
    public short ReturnedEvents;
}

/// <summary>
/// struct epoll_event is packed (12 bytes) on x86-64 and naturally aligned (16 bytes) elsewhere, so events are
/// read from a byte buffer with the stride of this machine instead of through one struct layout.
/// </summary>
internal static class EpollEvent
{
    public static readonly int Size = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86 ? 12 : 16;

    private static readonly int DataOffset = Size == 12 ? 4 : 8;

    public static unsafe void Write(byte* destination, uint events, ulong data)
    {
        new Span<byte>(destination, Size).Clear();
        Unsafe.WriteUnaligned(destination, events);
        Unsafe.WriteUnaligned(destination + DataOffset, data);
    }

    public static unsafe uint ReadEvents(byte* events, int index) => Unsafe.ReadUnaligned<uint>(events + (index * Size));

    public static unsafe ulong ReadData(byte* events, int index) => Unsafe.ReadUnaligned<ulong>(events + (index * Size) + DataOffset);
}

/// <summary>struct rlimit (rlim_t is 64-bit on x86-64 and arm64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RLimit
{
    public const int NoFile = 7; // RLIMIT_NOFILE

    public ulong Current;
    public ulong Maximum;
}
