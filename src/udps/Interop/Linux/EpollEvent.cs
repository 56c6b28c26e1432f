using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace UdpSessions.Cli.Interop.Linux;

/// <summary>struct epoll_event: packed (12 bytes) on x86 and x86-64, naturally aligned (16 bytes) elsewhere.</summary>
internal static unsafe class EpollEvent
{
    public static readonly int Size = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86 ? 12 : 16;

    private static readonly int DataOffset = Size == 12 ? 4 : 8;

    public static void Write(byte* destination, uint events, ulong data)
    {
        new Span<byte>(destination, Size).Clear();
        Unsafe.WriteUnaligned(destination, events);
        Unsafe.WriteUnaligned(destination + DataOffset, data);
    }

    public static ulong ReadData(byte* events, int index) => Unsafe.ReadUnaligned<ulong>(events + (index * Size) + DataOffset);
}
