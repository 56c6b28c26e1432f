using System.Buffers;
using System.Threading.Channels;

namespace UdpSessions.Internal;

/// <summary>A session's datagrams waiting for <c>ReceiveAsync</c>, in pooled buffers, bounded.</summary>
internal sealed class SessionReceiveQueue(int capacity)
{
    private readonly Channel<QueuedDatagram> _channel = Channel.CreateBounded<QueuedDatagram>(
        new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    private SessionCloseReason _reason;

    public bool TryEnqueue(ReadOnlySpan<byte> datagram)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, datagram.Length));
        datagram.CopyTo(buffer);
        if (_channel.Writer.TryWrite(new QueuedDatagram(buffer, datagram.Length)))
        {
            return true;
        }

        ArrayPool<byte>.Shared.Return(buffer);
        return false;
    }

    public void Complete(SessionCloseReason reason)
    {
        _reason = reason;
        _channel.Writer.TryComplete();
    }

    /// <summary>
    /// Copies the next datagram into <paramref name="destination"/>. A buffer too small for it throws and leaves the
    /// datagram queued: the async API never cuts a datagram.
    /// </summary>
    public async ValueTask<int> ReceiveAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        ChannelReader<QueuedDatagram> reader = _channel.Reader;
        while (true)
        {
            if (reader.TryPeek(out QueuedDatagram next))
            {
                if (next.Length > destination.Length)
                {
                    throw new ArgumentException(
                        $"The buffer ({destination.Length} bytes) is smaller than the next datagram ({next.Length} bytes); it stays queued.",
                        nameof(destination));
                }

                reader.TryRead(out _);
                next.Buffer.AsSpan(0, next.Length).CopyTo(destination.Span);
                ArrayPool<byte>.Shared.Return(next.Buffer);
                return next.Length;
            }

            if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new SessionClosedException(_reason);
            }
        }
    }

    private readonly record struct QueuedDatagram(byte[] Buffer, int Length);
}
