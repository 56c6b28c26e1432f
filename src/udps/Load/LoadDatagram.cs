namespace UdpSessions.Cli.Load;

/// <summary>A whole load datagram: header, then the pattern that ties the payload to that header.</summary>
internal static class LoadDatagram
{
    public static void Write(Span<byte> datagram, in DatagramHeader header)
    {
        header.WriteTo(datagram);
        PayloadPattern.Fill(datagram[DatagramHeader.Size..], header.Session, header.Sequence);
    }

    /// <summary>False when the datagram is too short for a header or its payload does not belong to its header.</summary>
    public static bool TryVerify(ReadOnlySpan<byte> datagram, out DatagramHeader header) =>
        DatagramHeader.TryRead(datagram, out header)
        && PayloadPattern.Matches(datagram[DatagramHeader.Size..], header.Session, header.Sequence);
}
