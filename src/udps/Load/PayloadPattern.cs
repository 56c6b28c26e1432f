using System.Buffers.Binary;

namespace UdpSessions.Cli.Load;

/// <summary>
/// The bytes after the header: a pseudo-random stream seeded by (session, sequence, length). Any flipped, shifted or
/// swapped byte, or a payload belonging to another request, fails the check, and nothing needs to be remembered per
/// request to verify it.
/// </summary>
internal static class PayloadPattern
{
    public static void Fill(Span<byte> payload, int session, long sequence)
    {
        ulong state = Seed(session, sequence, payload.Length);
        while (payload.Length >= sizeof(ulong))
        {
            BinaryPrimitives.WriteUInt64LittleEndian(payload, Next(ref state));
            payload = payload[sizeof(ulong)..];
        }

        ulong tail = Next(ref state);
        for (int i = 0; i < payload.Length; i++, tail >>= 8)
        {
            payload[i] = (byte)tail;
        }
    }

    public static bool Matches(ReadOnlySpan<byte> payload, int session, long sequence)
    {
        ulong state = Seed(session, sequence, payload.Length);
        while (payload.Length >= sizeof(ulong))
        {
            if (BinaryPrimitives.ReadUInt64LittleEndian(payload) != Next(ref state))
            {
                return false;
            }

            payload = payload[sizeof(ulong)..];
        }

        ulong tail = Next(ref state);
        for (int i = 0; i < payload.Length; i++, tail >>= 8)
        {
            if (payload[i] != (byte)tail)
            {
                return false;
            }
        }

        return true;
    }

    // The length is part of the seed so that a truncated datagram does not verify as a shorter valid one.
    private static ulong Seed(int session, long sequence, int length) =>
        (((ulong)(uint)session << 32) | (uint)length) * 0x9E3779B97F4A7C15UL ^ (ulong)sequence;

    // SplitMix64: cheap, and every output bit depends on every seed bit.
    private static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
