using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using UdpSessions.Dtls.Handshake;
using UdpSessions.Dtls.Internal;
using UdpSessions.Dtls.Records;
using UdpSessions.Engines;
using UdpSessions.Internal;

namespace UdpSessions.Dtls;

/// <summary>
/// The DTLS state of one session: its handshake while it runs (on a worker), then the record layer. The engine hands
/// it the peer's datagrams on the session's I/O thread (<see cref="OnDatagram"/>); the application's sends pass
/// through <see cref="TrySend"/> (any thread). The application sees the session only once the handshake completed.
/// </summary>
internal sealed class DtlsConnection(DtlsSessionHandler server, Session session) : SessionLayer, IHandshakeOwner, IDisposable
{
    /// <summary>Largest sealed record: header, connection ID, explicit nonce, 2^14 of plaintext, inner type, tag.</summary>
    private const int MaxRecordLength = DtlsRecord.HeaderLength + 255 + CipherSuiteInfo.ExplicitNonceLength + DtlsRecord.MaxPlaintext + 1 + 16;
    private const long FlightResendIntervalMilliseconds = 100;

    [ThreadStatic]
    private static byte[]? t_sealBuffer;

    [ThreadStatic]
    private static byte[]? t_openBuffer;

    private HandshakeJob? _job;
    private SessionTimer? _handshakeTimer;
    private volatile RecordProtection? _protection;
    private byte[][] _finalFlight = [];
    private long _lastFlightResend = long.MinValue / 2; // "long ago", without overflowing the subtraction
    private byte[]? _connectionId;
    private volatile int _state; // ConnectionState
    private bool _started;
    private bool _handshakeSettled;

    /// <summary>True once the application's OnSessionAccepted ran: only then does it get OnSessionClosed.</summary>
    public bool ApplicationAccepted { get; private set; }

    public bool IsEstablished => _state == (int)ConnectionState.Established;

    public Session Session => session;

    private DtlsCounters Counters => server.LoopCounters(session);

    /// <summary>The session was accepted (its first datagram, a ClientHello with a valid cookie, follows): the handshake's clock starts.</summary>
    public void Start()
    {
        _started = true;
        Counters.HandshakesStarted++;
        _handshakeTimer = session.Schedule(server.Options.HandshakeTimeout, static s => ((DtlsConnection)s.Layer!).OnHandshakeTimeout());
    }

    /// <summary>
    /// A datagram of the peer, on the session's I/O thread. <paramref name="movedFrom"/> is set when it came from
    /// another address than the session's (the connection ID routed it here): it moves the session only if one of its
    /// records authenticates and is the newest so far (RFC 9146 6).
    /// </summary>
    public void OnDatagram(ReadOnlySpan<byte> datagram, PeerAddress? movedFrom)
    {
        DtlsCounters counters = Counters;
        bool moved = false;
        while (!datagram.IsEmpty)
        {
            counters.RecordsReceived++;
            RecordRead read = DtlsRecord.TryRead(datagram, Volatile.Read(ref _connectionId)?.Length ?? 0, out DtlsRecord record);
            if (read != RecordRead.Ok)
            {
                counters.Dropped[(int)(read switch
                {
                    RecordRead.Truncated => DtlsDropReason.Truncated,
                    RecordRead.Oversized => DtlsDropReason.Oversized,
                    _ => DtlsDropReason.Malformed,
                })]++;
                return; // the rest of the datagram cannot be framed
            }

            datagram = datagram[record.Whole.Length..];
            if (!session.IsOpen)
            {
                counters.Dropped[(int)DtlsDropReason.UnexpectedRecord]++; // after a close_notify or a restart earlier in the datagram
            }
            else if (IsEstablished)
            {
                OnProtectedRecord(record, movedFrom, ref moved);
            }
            else
            {
                OnHandshakeRecord(record, movedFrom is not null);
            }
        }
    }

    /// <summary>Application data out: one record per datagram; any thread.</summary>
    public override SendStatus TrySend(Session session, ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length > DtlsRecord.MaxPlaintext)
        {
            throw new ArgumentException($"A DTLS record holds at most {DtlsRecord.MaxPlaintext} bytes of data; this datagram has {datagram.Length}.", nameof(datagram));
        }

        if (_protection is not { } protection || !IsEstablished)
        {
            return SendStatus.Closed;
        }

        byte[] buffer = t_sealBuffer ??= new byte[MaxRecordLength];
        int length;
        try
        {
            length = protection.Seal(ContentType.ApplicationData, datagram, buffer);
        }
        catch (ObjectDisposedException)
        {
            return SendStatus.Closed; // the session closed and released its keys while this thread was sealing
        }

        if (length < 0)
        {
            session.RequestClose(SessionCloseReason.Error);
            return SendStatus.Closed;
        }

        SendStatus status = session.Home.Engine.TrySendRaw(session, buffer.AsSpan(0, length)); // the engine copies what it batches
        if (status is SendStatus.Sent or SendStatus.Queued)
        {
            if (session.Home.IsCurrentThread)
            {
                Counters.RecordsSent++;
            }
            else
            {
                Interlocked.Increment(ref server.SharedCounters.RecordsSent);
            }
        }

        return status;
    }

    /// <summary>The application closes the session: close_notify goes out first (any thread).</summary>
    public override void OnApplicationClose(Session session) => SendCloseNotify();

    /// <summary>Sends close_notify if the session is established; any thread.</summary>
    public void SendCloseNotify()
    {
        if (SendAlert(Alerts.Warning, Alerts.CloseNotify))
        {
            Interlocked.Increment(ref server.SharedCounters.CloseNotifySent);
        }
    }

    /// <summary>The session closed (its I/O thread, or the stopping thread): settles an unfinished handshake and releases the keys.</summary>
    public void OnClosed(SessionCloseReason reason)
    {
        if (!IsEstablished && _started)
        {
            DtlsCounters counters = Counters;
            if (reason == SessionCloseReason.DtlsHandshakeTimeout)
            {
                counters.HandshakesTimedOut++;
            }
            else
            {
                counters.HandshakesFailed++;
            }

            SettleHandshake();
            if (_job is { } job)
            {
                job.Abort();
                foreach ((byte[] buffer, int _) in job.TakeLeftovers())
                {
                    counters.Dropped[(int)DtlsDropReason.HandshakeAbandoned]++;
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }

        _state = (int)ConnectionState.Closed;
        _handshakeTimer?.Cancel();
        _job = null;
        server.Forget(this, _connectionId);
        Dispose();
    }

    /// <summary>Releases the keys (the platform cipher contexts); a send racing this sees the session closed.</summary>
    public void Dispose() => _protection?.Dispose();

    // ---- IHandshakeOwner: called by the handshake on its worker thread ----

    public void OnHandshakeFinished(HandshakeJob job) =>
        session.Post(static (s, finished) => ((DtlsConnection)s.Layer!).FinishHandshake(finished), job); // false: closed, OnClosed settled it

    public byte[] AllocateConnectionId()
    {
        byte[] id = server.RegisterConnectionId(this);
        Volatile.Write(ref _connectionId, id);
        return id;
    }

    public void CountHandshakeRecord() => Interlocked.Increment(ref server.SharedCounters.HandshakeRecords);

    public void SendRaw(ReadOnlySpan<byte> datagram) => session.Home.Engine.TrySendRaw(session, datagram);

    // ---- the handshake phase ----

    private void OnHandshakeRecord(in DtlsRecord record, bool fromOtherAddress)
    {
        DtlsCounters counters = Counters;
        if (fromOtherAddress)
        {
            counters.Dropped[(int)DtlsDropReason.UnexpectedRecord]++; // an address change is only accepted once keys exist
        }
        else if (_job is null)
        {
            StartHandshake(record);
        }
        else if (!_job.TryEnqueue(record.Whole))
        {
            counters.Dropped[(int)DtlsDropReason.HandshakeQueueFull]++;
        }
    }

    /// <summary>The session's first record: the ClientHello whose cookie the listener checked. The handshake starts from it on a worker.</summary>
    private void StartHandshake(in DtlsRecord record)
    {
        DtlsCounters counters = Counters;
        if (!ClientHelloView.TryRead(record.Whole, out ClientHelloView hello)
            || server.Settings.Cookies.Check(session.Peer, hello, out CookieMatch cookie) != CookieCheck.Valid)
        {
            counters.Dropped[(int)DtlsDropReason.NotClientHello]++;
            session.RequestClose(SessionCloseReason.DtlsHandshakeFailed);
            return;
        }

        counters.HandshakeRecords++;
        _job = new HandshakeJob(this, server.Settings, session.Peer, record.Whole.ToArray(), cookie);
        server.Workers.Run(_job);
    }

    private void OnHandshakeTimeout()
    {
        if (!IsEstablished)
        {
            _job?.Abort();
            session.RequestClose(SessionCloseReason.DtlsHandshakeTimeout);
        }
    }

    /// <summary>On the I/O thread: the worker finished. Either the record layer takes over and the application sees the session, or it closes.</summary>
    private void FinishHandshake(HandshakeJob job)
    {
        if (job != _job || IsEstablished)
        {
            return;
        }

        switch (job.Outcome)
        {
            case HandshakeOutcome.Completed:
                Establish(job);
                return;
            case HandshakeOutcome.TimedOut:
                session.RequestClose(SessionCloseReason.DtlsHandshakeTimeout);
                return;
            default:
                Log.HandshakeFailed(server.Logger, session.RemoteEndPoint, job.Outcome, job.Error?.Message);
                session.RequestClose(SessionCloseReason.DtlsHandshakeFailed);
                return;
        }
    }

    private void Establish(HandshakeJob job)
    {
        HandshakeKeys keys = job.Keys!;
        _protection = new RecordProtection(keys.Suite, keys.KeyBlock, isServer: true, keys.ReadConnectionId, keys.WriteConnectionId, keys.FirstSequence);
        CryptographicOperations.ZeroMemory(keys.KeyBlock);
        _finalFlight = job.FinalFlight;
        session.Dtls = new DtlsSessionInfo(keys.Suite.Suite, keys.PskIdentity, keys.ReadConnectionId.Length > 0 ? keys.ReadConnectionId : null);
        _state = (int)ConnectionState.Established;
        _handshakeTimer?.Cancel();
        Counters.HandshakesCompleted++;
        SettleHandshake();
        server.Established(this);
        _job = null;
        try
        {
            ApplicationAccepted = true;
            server.Inner.OnSessionAccepted(session);
        }
        finally
        {
            // Records that reached the handshake after BouncyCastle had read its last one: the peer's first data.
            foreach ((byte[] buffer, int length) in job.TakeLeftovers())
            {
                Redispatch(buffer.AsSpan(0, length));
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private void Redispatch(ReadOnlySpan<byte> whole)
    {
        bool moved = false;
        if (session.IsOpen && DtlsRecord.TryRead(whole, Volatile.Read(ref _connectionId)?.Length ?? 0, out DtlsRecord record) == RecordRead.Ok)
        {
            OnProtectedRecord(record, null, ref moved);
        }
        else
        {
            Counters.Dropped[(int)DtlsDropReason.HandshakeAbandoned]++;
        }
    }

    private void SettleHandshake()
    {
        if (!_handshakeSettled)
        {
            _handshakeSettled = true;
            server.HandshakeSettled();
        }
    }

    // ---- the record layer ----

    private void OnProtectedRecord(in DtlsRecord record, PeerAddress? movedFrom, ref bool moved)
    {
        DtlsCounters counters = Counters;
        if (record.Epoch != RecordProtection.Epoch)
        {
            if (record.Epoch == 0 && movedFrom is null)
            {
                OnEpochZeroRecord(record);
            }
            else
            {
                counters.Dropped[(int)DtlsDropReason.WrongEpoch]++;
            }

            return;
        }

        byte[] buffer = t_openBuffer ??= new byte[DtlsRecord.MaxPlaintext + 2048];
        OpenResult result = _protection!.Open(record, buffer, out int length, out byte type, out bool newest);
        if (result != OpenResult.Ok)
        {
            counters.Dropped[(int)(result switch
            {
                OpenResult.Replayed => DtlsDropReason.Replayed,
                OpenResult.BadMac => DtlsDropReason.BadMac,
                OpenResult.Truncated => DtlsDropReason.Truncated,
                OpenResult.Oversized => DtlsDropReason.Oversized,
                OpenResult.Malformed => DtlsDropReason.Malformed,
                _ => DtlsDropReason.UnexpectedRecord,
            })]++;
            return;
        }

        if (movedFrom is { } source && newest && !moved && session.Home.Engine.MigrateSession(session, source))
        {
            moved = true;
            counters.AddressChanges++;
            session.Dtls!.AddressChanges++;
        }

        ReadOnlySpan<byte> plaintext = buffer.AsSpan(0, length);
        switch (type)
        {
            case ContentType.ApplicationData:
                bool accepted;
                try
                {
                    accepted = server.Inner.Deliver(session, plaintext);
                }
                catch
                {
                    counters.RecordsDelivered++; // delivered; the engine closes the session for the handler's exception
                    throw;
                }

                if (accepted)
                {
                    counters.RecordsDelivered++;
                }
                else
                {
                    counters.Dropped[(int)DtlsDropReason.ReceiveQueueFull]++;
                }

                return;
            case ContentType.Alert:
                counters.AlertRecords++;
                OnAlert(plaintext);
                return;
            case ContentType.Handshake:
                // The peer repeats its last flight (Finished): ours did not arrive.
                counters.HandshakeRecords++;
                ResendFinalFlight();
                return;
            default:
                counters.Dropped[(int)DtlsDropReason.UnexpectedRecord]++;
                return;
        }
    }

    private void OnEpochZeroRecord(in DtlsRecord record)
    {
        DtlsCounters counters = Counters;
        ReadOnlySpan<byte> fragment = record.Fragment;
        switch (record.Type)
        {
            case ContentType.Handshake when !fragment.IsEmpty && fragment[0] == Records.HandshakeType.ClientHello:
                OnNewClientHello(record);
                return;
            case ContentType.Handshake or ContentType.ChangeCipherSpec:
                counters.HandshakeRecords++; // the peer repeats its last flight: ours did not arrive
                ResendFinalFlight();
                return;
            case ContentType.ApplicationData:
                counters.Dropped[(int)DtlsDropReason.WrongEpoch]++;
                return;
            default:
                counters.Dropped[(int)DtlsDropReason.UnexpectedRecord]++; // e.g. an unauthenticated alert
                return;
        }
    }

    /// <summary>
    /// An epoch-0 ClientHello on an established session: the peer restarted (RFC 6347 4.2.8). Without a valid cookie it
    /// gets a HelloVerifyRequest and the session stays; with one, the session closes and the ClientHello starts a new one.
    /// </summary>
    private void OnNewClientHello(in DtlsRecord record)
    {
        DtlsCounters counters = Counters;
        if (!ClientHelloView.TryRead(record.Whole, out ClientHelloView hello))
        {
            counters.Dropped[(int)DtlsDropReason.Malformed]++;
            return;
        }

        CookieCheck check = server.Settings.Cookies.Check(session.Peer, hello, out _);
        if (check == CookieCheck.Valid)
        {
            counters.PeerRestarts++;
            counters.RecordsReceived--; // the new session reads it again
            session.Home.RerouteAfterClose(session, SessionCloseReason.DtlsPeerRestarted, record.Whole);
            return;
        }

        Span<byte> reply = stackalloc byte[64];
        int length = server.Settings.Cookies.WriteHelloVerifyRequest(session.Peer, hello, reply);
        SendRaw(reply[..length]);
        counters.HelloVerifyRequestsSent++;
        counters.Dropped[(int)(check == CookieCheck.Missing ? DtlsDropReason.CookieMissing : DtlsDropReason.CookieInvalid)]++;
    }

    private void OnAlert(ReadOnlySpan<byte> alert)
    {
        if (alert.Length != 2)
        {
            return;
        }

        session.Dtls!.ReceivedAlert = alert[1];
        if (alert[1] == Alerts.CloseNotify)
        {
            SendCloseNotify(); // RFC 5246 7.2.1: answer with our own
            session.RequestClose(SessionCloseReason.DtlsCloseNotify);
        }
        else if (alert[0] == Alerts.Fatal)
        {
            session.RequestClose(SessionCloseReason.DtlsFatalAlert);
        }
    }

    private void ResendFinalFlight()
    {
        long now = session.Home.Now;
        if (now - _lastFlightResend < FlightResendIntervalMilliseconds)
        {
            return; // one resend answers a whole repeated flight
        }

        _lastFlightResend = now;
        Counters.FinalFlightResends++;
        foreach (byte[] datagram in _finalFlight)
        {
            SendRaw(datagram);
        }
    }

    private bool SendAlert(byte level, byte description)
    {
        if (_protection is not { } protection || !IsEstablished)
        {
            return false;
        }

        Span<byte> record = stackalloc byte[DtlsRecord.HeaderLength + 255 + CipherSuiteInfo.ExplicitNonceLength + 3 + 16];
        try
        {
            int length = protection.Seal(ContentType.Alert, [level, description], record);
            return length > 0 && session.Home.Engine.TrySendRaw(session, record[..length]) is SendStatus.Sent or SendStatus.Queued;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    private enum ConnectionState
    {
        Handshaking,
        Established,
        Closed,
    }
}

/// <summary>The alert codes the record layer handles itself (RFC 5246 7.2).</summary>
internal static class Alerts
{
    public const byte Warning = 1;
    public const byte Fatal = 2;
    public const byte CloseNotify = 0;
}
