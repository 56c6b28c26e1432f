namespace UdpSessions;

/// <summary>How a TCP session's byte stream is cut into the messages that <see cref="SessionHandler.OnDatagram"/> receives.</summary>
public enum TcpFraming
{
    /// <summary>Each message is preceded by its length as a 32-bit big-endian unsigned integer.</summary>
    LengthPrefix32 = 0,

    /// <summary>Each message is preceded by its length as a 16-bit big-endian unsigned integer (messages up to 65,535 bytes).</summary>
    LengthPrefix16,

    /// <summary>
    /// No framing: every read is delivered as it came (at most <see cref="TcpOptions.MaxFrameSize"/> bytes), and sends
    /// are written as they are. For applications that frame the stream themselves.
    /// </summary>
    Raw,
}
