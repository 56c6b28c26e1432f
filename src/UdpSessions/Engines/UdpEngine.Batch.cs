namespace UdpSessions.Engines;

/// <summary>
/// <see cref="Session.SendBatch"/>: a run of equal-sized datagrams to one peer. Engines that can hand the kernel the
/// whole run at once (epoll: UDP_SEGMENT) override <see cref="SendSegmentsCore"/>; the others send the datagrams one by
/// one, with the same result for the peer.
/// </summary>
internal abstract partial class UdpEngine
{
    public bool SendBatch(Session session, ReadOnlySpan<byte> datagrams, int segmentSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentSize, 1);
        if (SendLengthProblem(segmentSize) is { } problem)
        {
            throw new ArgumentException(problem, nameof(segmentSize));
        }

        if (datagrams.IsEmpty)
        {
            return true;
        }

        // Over the send limit (counted as Oversized) or through a layer: one by one, each counted as Send counts it.
        if (session.Layer is null && segmentSize <= MaxSendSize && session.AcceptsSends && SendSegmentsCore(session, datagrams, segmentSize) is { } sent)
        {
            return sent;
        }

        // A layer (DTLS) turns each datagram into a record of its own; other engines send one datagram at a time.
        bool all = true;
        for (int offset = 0; offset < datagrams.Length; offset += segmentSize)
        {
            all &= Send(session, datagrams.Slice(offset, Math.Min(segmentSize, datagrams.Length - offset)));
        }

        return all;
    }

    /// <summary>
    /// Sends the datagrams of a batch with segmentation offload, counting them; true when all were sent or queued,
    /// false when some were refused (counted), or null when this engine sends them one by one instead.
    /// </summary>
    protected virtual bool? SendSegmentsCore(Session session, ReadOnlySpan<byte> datagrams, int segmentSize) => null;

    /// <summary>Counts <paramref name="datagrams"/> sends refused with <paramref name="status"/>; returns false.</summary>
    protected bool CountRefused(Session session, SendStatus status, int datagrams)
    {
        for (int i = 0; i < datagrams; i++)
        {
            CountRefused(session, status);
        }

        return false;
    }
}
