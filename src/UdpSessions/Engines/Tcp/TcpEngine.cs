using Microsoft.Extensions.Logging;

namespace UdpSessions.Engines.Tcp;

/// <summary>
/// What every TCP engine shares: sends go through the session's <see cref="TcpConnection"/> (frame, write or queue),
/// <c>SendAsync</c> waits for room in its send queue, and there is no UDP socket budget.
/// </summary>
internal abstract class TcpEngine(SessionServerOptions options, SessionHandler handler, ILogger logger)
    : UdpEngine(options, handler, logger)
{
    public override async ValueTask WaitUntilWritableAsync(Session session, CancellationToken cancellationToken)
    {
        if (session.IsOpen)
        {
            await session.Connection!.WhenRoomAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // Messages are bounded by Tcp.MaxFrameSize (SendLengthProblem), not by the UDP send limit.
    protected override int MaxSendSize => int.MaxValue;

    protected override string? SendLengthProblem(int length) => Options.Tcp.Framing != TcpFraming.Raw && length > Options.Tcp.MaxFrameSize
        ? $"The message ({length} bytes) is larger than Tcp.MaxFrameSize ({Options.Tcp.MaxFrameSize})."
        : null;

    protected override SendStatus SendCore(Session session, ReadOnlySpan<byte> datagram, bool mayQueue) => session.Connection!.Send(datagram);

    // TCP sessions are connections: they always have their own socket and are never served through the listener.
    protected override bool TryCreateSessionSocket(Session session) => true;

    protected override void PrepareSendsThroughListener(Session session)
    {
    }

    protected override bool PollWritable(Session session, int timeoutMilliseconds) => true; // WaitUntilWritableAsync is overridden
}
