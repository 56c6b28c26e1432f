namespace UdpSessions;

public sealed partial class Session
{
    // Counted where the datagram path already is: received datagrams and sends made on the session's own I/O thread
    // are plain increments by that thread (the only writer of these fields); sends from other threads, and failures,
    // which are rare, use the interlocked fields. Readers on other threads may see values a moment old.
    private long _datagramsReceived;
    private long _bytesReceived;
    private long _datagramsSentByHome;
    private long _bytesSentByHome;
    private long _datagramsSentByOthers;
    private long _bytesSentByOthers;
    private long _sendsRefused;

    /// <summary>This session's counters now: datagrams and bytes each way, refused sends, last datagram from the peer.</summary>
    public SessionStatistics GetStatistics() => new(
        Volatile.Read(ref _datagramsReceived),
        Volatile.Read(ref _bytesReceived),
        Volatile.Read(ref _datagramsSentByHome) + Volatile.Read(ref _datagramsSentByOthers),
        Volatile.Read(ref _bytesSentByHome) + Volatile.Read(ref _bytesSentByOthers),
        Volatile.Read(ref _sendsRefused),
        LastActivity);

    /// <summary>A datagram delivered to the application; on the home loop's thread only.</summary>
    internal void CountReceived(int length)
    {
        _datagramsReceived++;
        _bytesReceived += length;
    }

    /// <summary>A datagram that left; <paramref name="onHomeThread"/> when counted by the session's own I/O thread.</summary>
    internal void CountSent(int length, bool onHomeThread) => CountSent(1, length, onHomeThread);

    /// <summary><paramref name="datagrams"/> datagrams of <paramref name="bytes"/> bytes in all that left in one send (a batch).</summary>
    internal void CountSent(int datagrams, int bytes, bool onHomeThread)
    {
        if (onHomeThread)
        {
            _datagramsSentByHome += datagrams;
            _bytesSentByHome += bytes;
        }
        else
        {
            Interlocked.Add(ref _datagramsSentByOthers, datagrams);
            Interlocked.Add(ref _bytesSentByOthers, bytes);
        }
    }

    /// <summary>A datagram counted as sent when it was queued that the kernel refused at the flush.</summary>
    internal void TakeBackSent(int length, bool onHomeThread)
    {
        if (onHomeThread)
        {
            _datagramsSentByHome--;
            _bytesSentByHome -= length;
        }
        else
        {
            Interlocked.Decrement(ref _datagramsSentByOthers);
            Interlocked.Add(ref _bytesSentByOthers, -length);
        }
    }

    /// <summary>A send that was refused or failed, whatever the cause (the server's statistics keep the cause).</summary>
    internal void CountSendRefused() => Interlocked.Increment(ref _sendsRefused);
}
