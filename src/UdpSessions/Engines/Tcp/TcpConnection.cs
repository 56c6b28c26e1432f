using System.Buffers.Binary;
using UdpSessions.Internal;

namespace UdpSessions.Engines.Tcp;

/// <summary>
/// The TCP side of a <see cref="Session"/>: its frame decoder (used by the home loop only) and its bounded send queue
/// (any thread, under <see cref="Gate"/>). Engines supply the socket: how to write now, how to be told when the socket
/// is writable again, and how to close.
/// </summary>
internal abstract class TcpConnection
{
    private readonly int _headerSize;
    private bool _released;
    private bool _inputEnded;

    protected TcpConnection(TcpOptions options)
    {
        Options = options;
        _headerSize = options.HeaderSize;
        Decoder = new FrameDecoder(options.Framing, options.MaxFrameSize);
        Queue = new SendQueue(options.SendQueueLimit);
    }

    public TcpOptions Options { get; }

    /// <summary>Set once, right after the session is created.</summary>
    public Session Session { get; set; } = null!;

    public FrameDecoder Decoder { get; }

    protected SendQueue Queue { get; }

    protected Lock Gate { get; } = new();

    /// <summary>True once the session was torn down: nothing more is written.</summary>
    protected bool Released => _released;

    /// <summary>True once the peer sent FIN.</summary>
    protected bool InputEnded => _inputEnded;

    /// <summary>Frames and sends one message, or queues what the socket did not take. Never blocks.</summary>
    public SendStatus Send(ReadOnlySpan<byte> message)
    {
        Span<byte> header = stackalloc byte[_headerSize];
        if (_headerSize == 4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(header, (uint)message.Length);
        }
        else if (_headerSize == 2)
        {
            BinaryPrimitives.WriteUInt16BigEndian(header, (ushort)message.Length);
        }

        lock (Gate)
        {
            if (_released)
            {
                return SendStatus.Closed;
            }

            if (!Queue.IsEmpty)
            {
                if (!Queue.HasRoomFor(header.Length + message.Length))
                {
                    return SendStatus.WouldBlock;
                }

                Queue.Enqueue(header, message, 0);
                return SendStatus.Sent;
            }

            int written = WriteNow(header, message, out SendStatus failure);
            if (written < 0)
            {
                return failure;
            }

            if (written < header.Length + message.Length)
            {
                Queue.Enqueue(header, message, written);
                StartFlushing();
            }

            return SendStatus.Sent;
        }
    }

    /// <summary>Waits until a message left the send queue (or the session closed).</summary>
    public Task WhenRoomAsync()
    {
        lock (Gate)
        {
            return _released || Queue.IsEmpty ? Task.CompletedTask : Queue.WhenRoom();
        }
    }

    /// <summary>
    /// The peer sent FIN (on the home loop, after every complete frame was delivered). The session closes with
    /// <see cref="SessionCloseReason.PeerClosed"/> once what it still has to write is written.
    /// </summary>
    public void EndOfInput()
    {
        bool closeNow;
        lock (Gate)
        {
            _inputEnded = true;
            closeNow = Queue.IsEmpty;
            StopReading();
        }

        if (closeNow)
        {
            Session.RequestClose(SessionCloseReason.PeerClosed);
        }
    }

    /// <summary>Tears the connection down (home loop, at session close). Messages still queued are counted as dropped.</summary>
    public void Release(SendCounters counters)
    {
        lock (Gate)
        {
            if (_released)
            {
                return;
            }

            _released = true;
            int dropped = Queue.Clear();
            if (dropped > 0)
            {
                Interlocked.Add(ref counters.DroppedSessionClosed, dropped);
            }

            CloseTransport();
        }

        Decoder.Dispose();
    }

    /// <summary>
    /// Called under <see cref="Gate"/> when the queue has just been emptied by a flush: a session whose peer has
    /// finished is closed now.
    /// </summary>
    protected void Drained()
    {
        if (_inputEnded)
        {
            Session.RequestClose(SessionCloseReason.PeerClosed);
        }
    }

    /// <summary>Writes what the socket takes now, without blocking; returns the bytes written, or -1 with <paramref name="failure"/>.</summary>
    protected abstract int WriteNow(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, out SendStatus failure);

    /// <summary>Under <see cref="Gate"/>: the queue became non-empty; write it out when the socket is writable.</summary>
    protected abstract void StartFlushing();

    /// <summary>Under <see cref="Gate"/>: no more reads for this connection (FIN seen).</summary>
    protected abstract void StopReading();

    /// <summary>Under <see cref="Gate"/>: stop watching the socket and close it.</summary>
    protected abstract void CloseTransport();
}
