namespace UdpSessions.Dtls.Internal;

/// <summary>
/// DTLS counters. The server keeps one set per I/O loop, written with plain increments by that loop's thread only
/// (the record path), and one shared set written with interlocked adds by every other thread (accept filter,
/// handshake workers, senders).
/// </summary>
internal sealed class DtlsCounters
{
    public long HandshakesStarted;
    public long HandshakesCompleted;
    public long HandshakesFailed;
    public long HandshakesTimedOut;
    public long HelloVerifyRequestsSent;
    public long RecordsReceived;
    public long RecordsDelivered;
    public long HandshakeRecords;
    public long AlertRecords;
    public long RecordsSent;
    public long AddressChanges;
    public long PeerRestarts;
    public long CloseNotifySent;
    public long FinalFlightResends;
    public readonly long[] Dropped = new long[Enum.GetValues<DtlsDropReason>().Length];

    /// <summary>Counts one record received and dropped, from any thread (the shared set).</summary>
    public void DropShared(DtlsDropReason reason)
    {
        Interlocked.Increment(ref RecordsReceived);
        Interlocked.Increment(ref Dropped[(int)reason]);
    }
}
