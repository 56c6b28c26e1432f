namespace UdpSessions.Tests.Infrastructure;

/// <summary>An echo handler that measures what its I/O thread allocates between two datagram counts.</summary>
public sealed class AllocationProbe(int start, int end) : SessionHandler
{
    private int _count;
    private long _startBytes;

    public long AllocatedBytes { get; private set; } = -1;

    public bool Done { get; private set; }

    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
    {
        if (_count == start)
        {
            _startBytes = GC.GetAllocatedBytesForCurrentThread();
        }
        else if (_count == end)
        {
            AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - _startBytes;
            Done = true;
        }

        _count++;
        session.Send(datagram);
    }
}
