namespace UdpSessions;

/// <summary>
/// A snapshot of one session's counters (<see cref="Session.GetStatistics"/>), for the application's own monitoring.
/// They cost the datagram path two plain increments: the session's I/O thread is their only writer.
/// </summary>
public readonly record struct SessionStatistics
{
    private readonly long _lastReceivedTicks;

    internal SessionStatistics(long datagramsReceived, long bytesReceived, long datagramsSent, long bytesSent, long sendsRefused, long lastReceivedTicks)
    {
        DatagramsReceived = datagramsReceived;
        BytesReceived = bytesReceived;
        DatagramsSent = datagramsSent;
        BytesSent = bytesSent;
        SendsRefused = sendsRefused;
        _lastReceivedTicks = lastReceivedTicks;
    }

    /// <summary>Datagrams (TCP: messages) of the peer handed to this session (its OnDatagram, or its async receive queue).</summary>
    public long DatagramsReceived { get; }

    /// <summary>Payload bytes of <see cref="DatagramsReceived"/>.</summary>
    public long BytesReceived { get; }

    /// <summary>Datagrams (TCP: messages) sent to the peer (a datagram queued in an I/O thread's send batch counts once it left).</summary>
    public long DatagramsSent { get; }

    /// <summary>Payload bytes of <see cref="DatagramsSent"/>.</summary>
    public long BytesSent { get; }

    /// <summary>
    /// Sends to this session that were refused or failed, whatever the cause (send buffer full, closed, too large,
    /// socket error); the server's statistics count them by cause.
    /// </summary>
    public long SendsRefused { get; }

    /// <summary>How long ago the peer's last datagram was delivered (or the session was accepted), as the idle timeout sees it (millisecond precision).</summary>
    public TimeSpan SinceLastReceived => TimeSpan.FromMilliseconds(Math.Max(0, Environment.TickCount64 - _lastReceivedTicks));

    /// <inheritdoc />
    public override string ToString() =>
        $"received={DatagramsReceived} ({BytesReceived} B) sent={DatagramsSent} ({BytesSent} B) refused={SendsRefused} lastReceived={SinceLastReceived.TotalMilliseconds:F0} ms ago";
}
