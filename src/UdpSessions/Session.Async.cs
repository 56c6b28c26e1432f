using UdpSessions.Engines;
using UdpSessions.Internal;

namespace UdpSessions;

public sealed partial class Session
{
    /// <summary>The async receive queue; null when the server runs a <see cref="SessionHandler"/>.</summary>
    internal SessionReceiveQueue? ReceiveQueue { get; set; }

    /// <summary>
    /// Receives the next datagram into <paramref name="buffer"/> and returns its length (0 for an empty datagram).
    /// One receive at a time per session. Datagrams that arrived before the session closed are still returned; after
    /// them a <see cref="SessionClosedException"/> is thrown. A buffer smaller than the datagram throws
    /// <see cref="ArgumentException"/> and leaves the datagram queued. Only for servers created without a handler.
    /// </summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ReceiveQueue is { } queue
            ? queue.ReceiveAsync(buffer, cancellationToken)
            : throw new InvalidOperationException("This server has a SessionHandler: datagrams arrive in its OnDatagram, not through ReceiveAsync.");

    /// <summary>
    /// Sends one datagram, waiting while the socket's send buffer is full. Throws <see cref="SessionClosedException"/>
    /// if the session is closed, <see cref="ArgumentException"/> if the datagram is larger than
    /// <see cref="SessionServerOptions.MaxSendDatagramSize"/> (counted) or than UDP can carry.
    /// </summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken = default)
    {
        UdpEngine engine = Home.Engine;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Never queued in a send batch: the caller awaits the datagram's fate.
            switch (engine.TrySend(this, datagram.Span, mayQueue: false))
            {
                case SendStatus.Sent or SendStatus.Queued:
                    return;
                case SendStatus.WouldBlock:
                    await engine.WaitUntilWritableAsync(this, cancellationToken).ConfigureAwait(false);
                    break;
                case SendStatus.Failed:
                    engine.CountRefused(this, SendStatus.Failed);
                    throw new IOException("The datagram could not be sent; the socket error is logged.");
                case SendStatus.Oversized:
                    engine.CountRefused(this, SendStatus.Oversized);
                    throw new ArgumentException(
                        $"The datagram ({datagram.Length} bytes) is larger than MaxSendDatagramSize ({engine.Options.MaxSendDatagramSize ?? engine.Options.MaxDatagramSize}).", nameof(datagram));
                default:
                    engine.CountRefused(this, SendStatus.Closed);
                    throw new SessionClosedException(CloseReason ?? SessionCloseReason.ClosedByApplication);
            }
        }
    }
}
