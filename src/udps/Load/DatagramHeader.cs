using System.Buffers.Binary;

namespace UdpSessions.Cli.Load;

/// <summary>
/// What every load datagram starts with. The echo returns it unchanged, so a reply names the client session and the
/// request it answers and carries its own send time.
/// </summary>
/// <param name="Session">Index of the client session (socket) that sent the request.</param>
/// <param name="Sequence">Per-session request number, from 0.</param>
/// <param name="Timestamp">Send time in <see cref="System.Diagnostics.Stopwatch"/> ticks.</param>
internal readonly record struct DatagramHeader(int Session, long Sequence, long Timestamp)
{
    /// <summary>Bytes on the wire: 4 (session) + 8 (sequence) + 8 (timestamp), little-endian.</summary>
    public const int Size = 20;

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination, Session);
        BinaryPrimitives.WriteInt64LittleEndian(destination[4..], Sequence);
        BinaryPrimitives.WriteInt64LittleEndian(destination[12..], Timestamp);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out DatagramHeader header)
    {
        if (source.Length < Size)
        {
            header = default;
            return false;
        }

        header = new DatagramHeader(
            BinaryPrimitives.ReadInt32LittleEndian(source),
            BinaryPrimitives.ReadInt64LittleEndian(source[4..]),
            BinaryPrimitives.ReadInt64LittleEndian(source[12..]));
        return true;
    }
}
