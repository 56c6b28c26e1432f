namespace UdpSessions.Engines.Tcp;

/// <summary>
/// What a TCP session could not write yet, bounded in bytes. Only the part of a message the socket refused is copied
/// here, so a session that keeps up with its peer never touches it. Not thread-safe: its connection's lock guards it.
/// </summary>
internal sealed class SendQueue(int limit)
{
    // Plain arrays, not pooled: a write of the head may still be in flight (the async pump) when the queue is cleared.
    private readonly Queue<byte[]> _segments = new();
    private int _headOffset;
    private TaskCompletionSource? _roomWaiter;

    public int QueuedBytes { get; private set; }

    /// <summary>Messages (or the rest of a message) waiting.</summary>
    public int Count => _segments.Count;

    public bool IsEmpty => _segments.Count == 0;

    /// <summary>The policy: a message is taken if it fits under the limit, and always when nothing is waiting.</summary>
    public bool HasRoomFor(int length) => IsEmpty || QueuedBytes + (long)length <= limit;

    /// <summary>Queues what is left of a message after <paramref name="alreadyWritten"/> of its bytes (header first) were written.</summary>
    public void Enqueue(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, int alreadyWritten)
    {
        int total = header.Length + payload.Length;
        var segment = new byte[total - alreadyWritten];
        if (alreadyWritten < header.Length)
        {
            header[alreadyWritten..].CopyTo(segment);
            payload.CopyTo(segment.AsSpan(header.Length - alreadyWritten));
        }
        else
        {
            payload[(alreadyWritten - header.Length)..].CopyTo(segment);
        }

        _segments.Enqueue(segment);
        QueuedBytes += segment.Length;
    }

    /// <summary>The unwritten bytes of the oldest message.</summary>
    public ReadOnlyMemory<byte> Head => _segments.Peek().AsMemory(_headOffset);

    /// <summary>Marks <paramref name="written"/> bytes of the head as written; wakes senders waiting for room.</summary>
    public void Advance(int written)
    {
        QueuedBytes -= written;
        _headOffset += written;
        if (_headOffset == _segments.Peek().Length)
        {
            _segments.Dequeue();
            _headOffset = 0;
            WakeWaiters();
        }
    }

    /// <summary>Empties the queue (the session closed); returns how many messages were not written.</summary>
    public int Clear()
    {
        int dropped = _segments.Count;
        _segments.Clear();
        QueuedBytes = 0;
        _headOffset = 0;
        WakeWaiters();
        return dropped;
    }

    /// <summary>A task that completes when a message leaves the queue (or it is cleared).</summary>
    public Task WhenRoom() => (_roomWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    private void WakeWaiters()
    {
        _roomWaiter?.TrySetResult();
        _roomWaiter = null;
    }
}
