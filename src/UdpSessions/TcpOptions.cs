namespace UdpSessions;

/// <summary>Settings that apply when <see cref="SessionServerOptions.Transport"/> is <see cref="SessionTransport.Tcp"/>.</summary>
public sealed class TcpOptions
{
    /// <summary>How the stream is cut into messages. Default: <see cref="TcpFraming.LengthPrefix32"/>.</summary>
    public TcpFraming Framing { get; set; } = TcpFraming.LengthPrefix32;

    /// <summary>
    /// The largest message in bytes. A received frame that announces more closes its session with
    /// <see cref="SessionCloseReason.FrameTooLarge"/>; a larger send throws <see cref="ArgumentException"/>. In
    /// <see cref="TcpFraming.Raw"/> mode it is the most bytes one read delivers. Default: 65,535 (what a 16-bit prefix can announce).
    /// </summary>
    public int MaxFrameSize { get; set; } = ushort.MaxValue;

    /// <summary>
    /// Bytes a session may have waiting to be written to its socket (the kernel's send buffer is full). When a message
    /// does not fit, <see cref="Session.Send"/> returns false and counts it in
    /// <see cref="ServerStatistics.SendsDroppedBufferFull"/>, and <see cref="Session.SendAsync"/> waits for room. A
    /// message larger than the limit is still taken when nothing is waiting, so any allowed message can be sent.
    /// Default: 1 MiB.
    /// </summary>
    public int SendQueueLimit { get; set; } = 1 << 20;

    /// <summary>The listen() backlog of connections not yet accepted. Default: 512.</summary>
    public int ListenBacklog { get; set; } = 512;

    /// <summary>TCP_NODELAY on every connection (no Nagle delay for small messages). Default: true.</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>The largest frame a 16-bit length prefix can announce.</summary>
    internal const int MaxFrameSize16 = ushort.MaxValue;

    internal TcpOptions Clone() => (TcpOptions)MemberwiseClone();

    internal int HeaderSize => Framing switch
    {
        TcpFraming.LengthPrefix32 => 4,
        TcpFraming.LengthPrefix16 => 2,
        _ => 0,
    };

    internal IEnumerable<(bool Valid, string Name, string Problem)> Checks()
    {
        yield return (Enum.IsDefined(Framing), nameof(Framing), "is not a known framing");
        yield return (MaxFrameSize is >= 1 and <= 1 << 30, nameof(MaxFrameSize), "must be between 1 and 1,073,741,824");
        yield return (Framing != TcpFraming.LengthPrefix16 || MaxFrameSize <= MaxFrameSize16, nameof(MaxFrameSize),
            "must be at most 65,535 with a 16-bit length prefix");
        yield return (SendQueueLimit >= 1, nameof(SendQueueLimit), "must be at least 1");
        yield return (ListenBacklog >= 1, nameof(ListenBacklog), "must be at least 1");
    }
}
