using System.Buffers;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// Datagrams another loop read for a session of this one. That happens when the kernel moves a peer to another
/// listener: while the group's size is constant the steering program never does, so only when the group changes
/// (another process joining or leaving the port). The peer's older datagrams may then still wait on this loop's
/// listener, so a hand-over is delivered only after this listener has been read past them.
/// </summary>
internal sealed partial class EpollLoop
{
    private readonly List<(Session Session, byte[] Buffer, int Length)> _redirected = [];
    private long _redirectEmptyMark;
    private long _redirectReadMark;

    protected override void DeliverRedirected(Session session, ReadOnlySpan<byte> datagram)
    {
        if (_redirected.Count == 0)
        {
            _redirectEmptyMark = _listenerEmptied;
            _redirectReadMark = _listenerReads + _maxQueuedOnListener;
        }

        byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, datagram.Length));
        datagram.CopyTo(copy);
        _redirected.Add((session, copy, datagram.Length));
    }

    private void DeliverRedirectedBacklog()
    {
        if (_redirected.Count == 0)
        {
            return;
        }

        // Bounded: these are in memory (the listener's are in the kernel), so after a while they go anyway.
        for (int batch = 0; batch < MaxBarrierBatches && _listenerEmptied <= _redirectEmptyMark && _listenerReads < _redirectReadMark; batch++)
        {
            ReadListener(1);
        }

        foreach ((Session session, byte[] buffer, int length) in _redirected)
        {
            Deliver(session, buffer.AsSpan(0, length));
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _redirected.Clear();
    }
}
