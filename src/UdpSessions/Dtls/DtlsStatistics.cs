namespace UdpSessions.Dtls;

/// <summary>
/// A snapshot of a DTLS server's counters (<see cref="SessionServer.GetDtlsStatistics"/>). Every record the DTLS layer
/// reads, including the first datagram of an unknown peer judged on the listener, ends in exactly one place:
/// <c>RecordsReceived == RecordsDelivered + HandshakeRecords + AlertRecords + RecordsDropped</c> once the server is
/// quiet (no handshake in progress).
/// </summary>
public sealed class DtlsStatistics
{
    private readonly long[] _dropped;

    internal DtlsStatistics(IEnumerable<Internal.DtlsCounters> parts)
    {
        _dropped = new long[Enum.GetValues<DtlsDropReason>().Length];
        foreach (Internal.DtlsCounters c in parts)
        {
            HandshakesStarted += Volatile.Read(ref c.HandshakesStarted);
            HandshakesCompleted += Volatile.Read(ref c.HandshakesCompleted);
            HandshakesFailed += Volatile.Read(ref c.HandshakesFailed);
            HandshakesTimedOut += Volatile.Read(ref c.HandshakesTimedOut);
            HelloVerifyRequestsSent += Volatile.Read(ref c.HelloVerifyRequestsSent);
            RecordsReceived += Volatile.Read(ref c.RecordsReceived);
            RecordsDelivered += Volatile.Read(ref c.RecordsDelivered);
            HandshakeRecords += Volatile.Read(ref c.HandshakeRecords);
            AlertRecords += Volatile.Read(ref c.AlertRecords);
            RecordsSent += Volatile.Read(ref c.RecordsSent);
            AddressChanges += Volatile.Read(ref c.AddressChanges);
            PeerRestarts += Volatile.Read(ref c.PeerRestarts);
            CloseNotifySent += Volatile.Read(ref c.CloseNotifySent);
            FinalFlightResends += Volatile.Read(ref c.FinalFlightResends);
            for (int i = 0; i < _dropped.Length; i++)
            {
                _dropped[i] += Volatile.Read(ref c.Dropped[i]);
            }
        }
    }

    /// <summary>Handshakes started (a ClientHello with a valid cookie created a session).</summary>
    public long HandshakesStarted { get; }

    /// <summary>Handshakes that completed; the application saw each as a new session.</summary>
    public long HandshakesCompleted { get; }

    /// <summary>Handshakes that failed (alert, bad Finished, unknown PSK identity, no common suite, session closed).</summary>
    public long HandshakesFailed { get; }

    /// <summary>Handshakes abandoned after <see cref="DtlsOptions.HandshakeTimeout"/>.</summary>
    public long HandshakesTimedOut { get; }

    /// <summary>Handshakes in progress now (half-open sessions).</summary>
    public long HandshakesInProgress => HandshakesStarted - HandshakesCompleted - HandshakesFailed - HandshakesTimedOut;

    /// <summary>HelloVerifyRequests sent (from the listener, or from a session to a restarting peer).</summary>
    public long HelloVerifyRequestsSent { get; }

    /// <summary>Records read by the DTLS layer (each first datagram judged on the listener counts as one).</summary>
    public long RecordsReceived { get; }

    /// <summary>Application data records delivered to the application, decrypted.</summary>
    public long RecordsDelivered { get; }

    /// <summary>Records consumed by the handshake (including ChangeCipherSpec and retransmitted flights).</summary>
    public long HandshakeRecords { get; }

    /// <summary>Alert records consumed (close_notify and fatal alerts close the session).</summary>
    public long AlertRecords { get; }

    /// <summary>Records dropped, all causes.</summary>
    public long RecordsDropped => _dropped.Sum();

    /// <summary>Application data records sent.</summary>
    public long RecordsSent { get; }

    /// <summary>Sessions moved to a new peer address by their connection ID.</summary>
    public long AddressChanges { get; }

    /// <summary>Sessions replaced because their peer started a new handshake from the same address (RFC 6347 4.2.8).</summary>
    public long PeerRestarts { get; }

    /// <summary>close_notify alerts sent (the application closed the session, or the server stopped).</summary>
    public long CloseNotifySent { get; }

    /// <summary>Times the server's last handshake flight was sent again because the peer repeated its own.</summary>
    public long FinalFlightResends { get; }

    /// <summary>Records dropped for <paramref name="reason"/>.</summary>
    public long GetDropped(DtlsDropReason reason) => _dropped[(int)reason];

    /// <inheritdoc />
    public override string ToString() =>
        $"handshakes started={HandshakesStarted} completed={HandshakesCompleted} failed={HandshakesFailed} timedOut={HandshakesTimedOut} " +
        $"hvr={HelloVerifyRequestsSent} records received={RecordsReceived} delivered={RecordsDelivered} handshake={HandshakeRecords} " +
        $"alerts={AlertRecords} dropped={RecordsDropped} (" +
        string.Join(", ", Enum.GetValues<DtlsDropReason>().Where(r => GetDropped(r) > 0).Select(r => $"{r}={GetDropped(r)}")) +
        $") sent={RecordsSent} moved={AddressChanges} restarts={PeerRestarts}";
}
