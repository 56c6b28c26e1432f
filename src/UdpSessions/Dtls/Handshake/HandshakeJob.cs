using System.Buffers;
using System.Text;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl;
using UdpSessions.Dtls.Records;
using UdpSessions.Internal;

namespace UdpSessions.Dtls.Handshake;

/// <summary>
/// One server handshake run by BouncyCastle on a worker thread, and the <see cref="DatagramTransport"/> it runs over:
/// the session's I/O thread queues the peer's records here (<see cref="TryEnqueue"/>) and the worker's
/// <see cref="Receive(byte[], int, int, int)"/> takes them, waiting as long as BouncyCastle asks (its retransmission
/// timer); what BouncyCastle sends goes straight out through the session. When the handshake completes the keys,
/// the peer's identity and the last flight (to send again if the peer repeats its own) are kept for the record layer.
/// </summary>
internal sealed class HandshakeJob(IHandshakeOwner owner, ServerSettings settings, PeerAddress peer, byte[] clientHello, CookieMatch cookie)
    : DatagramTransport
{
    /// <summary>Records a handshake may have waiting; a peer sending more than a few flights' worth is dropped.</summary>
    public const int MaxQueued = 64;

    private readonly object _gate = new();
    private readonly Queue<(byte[] Buffer, int Length)> _queue = new();
    private readonly List<byte[]> _flight = [];
    private bool _aborted;
    private long _lastEpoch1Sequence = -1;

    public HandshakeOutcome Outcome { get; private set; }

    /// <summary>Set when <see cref="Outcome"/> is <see cref="HandshakeOutcome.Completed"/>.</summary>
    public HandshakeKeys? Keys { get; private set; }

    /// <summary>Why the handshake failed, for the log.</summary>
    public Exception? Error { get; private set; }

    public byte? AlertReceived { get; set; }

    /// <summary>The datagrams of the server's last flight (ChangeCipherSpec and Finished).</summary>
    public byte[][] FinalFlight { get; private set; } = [];

    /// <summary>Queues a record of the peer for the handshake (I/O thread); false when too many are waiting or it is over.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> record)
    {
        lock (_gate)
        {
            if (_queue.Count >= MaxQueued || _aborted)
            {
                return false;
            }

            byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, record.Length));
            record.CopyTo(copy);
            _queue.Enqueue((copy, record.Length));
            Monitor.Pulse(_gate);
            return true;
        }
    }

    /// <summary>Stops the handshake (timeout, session closed): the worker's next wait ends with an exception.</summary>
    public void Abort()
    {
        lock (_gate)
        {
            _aborted = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Takes the records nobody read (the handshake ended first); the caller returns them to the array pool.</summary>
    public List<(byte[] Buffer, int Length)> TakeLeftovers()
    {
        lock (_gate)
        {
            var leftovers = new List<(byte[] Buffer, int Length)>(_queue);
            _queue.Clear();
            return leftovers;
        }
    }

    /// <summary>Runs the handshake on the calling worker thread, then reports to the owner.</summary>
    public void Run()
    {
        try
        {
            DtlsRequest request = DtlsCookies.CreateRequest(peer, cookie, clientHello)
                ?? throw new TlsFatalAlert(AlertDescription.handshake_failure, "BouncyCastle rejected the ClientHello the listener accepted");
            new DtlsServerProtocol().Accept(new ServerPeer(settings, this), this, request);
            Outcome = Keys is null ? HandshakeOutcome.Failed : HandshakeOutcome.Completed;
        }
        catch (TlsTimeoutException e)
        {
            (Outcome, Error) = (HandshakeOutcome.TimedOut, e);
        }
        catch (Exception e)
        {
            (Outcome, Error) = (e is TlsFatalAlertReceived ? HandshakeOutcome.AlertReceived : HandshakeOutcome.Failed, e);
        }

        owner.OnHandshakeFinished(this);
    }

    /// <summary>Allocates (and registers) the connection ID the peer will put on its records.</summary>
    public byte[] AllocateConnectionId() => owner.AllocateConnectionId();

    /// <summary>Called by BouncyCastle when the handshake completed: derives the key block before its context is cleared.</summary>
    public void CaptureKeys(TlsContext context) => Keys = HandshakeKeys.Capture(context, _lastEpoch1Sequence + 1);

    public int GetReceiveLimit() => settings.ReceiveLimit;

    public int GetSendLimit() => settings.SendLimit;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        (byte[] Buffer, int Length) record;
        lock (_gate)
        {
            long deadline = Environment.TickCount64 + (waitMillis <= 0 ? int.MaxValue : waitMillis);
            while (_queue.Count == 0 && !_aborted)
            {
                long remaining = deadline - Environment.TickCount64;
                if (remaining <= 0)
                {
                    return -1; // BouncyCastle's retransmission timer: it sends its last flight again
                }

                Monitor.Wait(_gate, (int)Math.Min(remaining, int.MaxValue));
            }

            if (_aborted)
            {
                throw new TlsFatalAlert(AlertDescription.user_canceled, "the handshake was abandoned");
            }

            record = _queue.Dequeue();
        }

        int length = Math.Min(record.Length, buffer.Length);
        record.Buffer.AsSpan(0, length).CopyTo(buffer);
        ArrayPool<byte>.Shared.Return(record.Buffer);
        owner.CountHandshakeRecord();
        _flight.Clear(); // what the server sends next is a new flight
        return length;
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        NoteEpoch1Sequences(buffer);
        _flight.Add(buffer.ToArray());
        FinalFlight = [.. _flight];
        owner.SendRaw(buffer); // a refused send is a lost datagram: BouncyCastle's retransmission covers it
    }

    public void Close()
    {
    }

    /// <summary>The record layer continues epoch 1 after the sequence numbers the handshake used (its Finished).</summary>
    private void NoteEpoch1Sequences(ReadOnlySpan<byte> datagram)
    {
        // BouncyCastle sends one record per datagram; epoch and sequence sit at the same place with or without a connection ID.
        if (datagram.Length >= DtlsRecord.HeaderLength && DtlsRecord.ReadEpochAndSequence(datagram) >> 48 == RecordProtection.Epoch)
        {
            _lastEpoch1Sequence = Math.Max(_lastEpoch1Sequence, (long)(DtlsRecord.ReadEpochAndSequence(datagram) & 0xFFFF_FFFF_FFFFUL));
        }
    }
}

/// <summary>What a <see cref="HandshakeJob"/> needs from the session it serves.</summary>
internal interface IHandshakeOwner
{
    void OnHandshakeFinished(HandshakeJob job);

    byte[] AllocateConnectionId();

    void CountHandshakeRecord();

    void SendRaw(ReadOnlySpan<byte> datagram);
}

/// <summary>The secrets and parameters the record layer starts from.</summary>
internal sealed record HandshakeKeys(CipherSuiteInfo Suite, byte[] KeyBlock, string? PskIdentity, byte[] ReadConnectionId, byte[] WriteConnectionId, long FirstSequence)
{
    /// <summary>
    /// Derives the TLS 1.2 key block with BouncyCastle's PRF from the completed handshake's master secret and randoms
    /// (BouncyCastle clears them when its handshake call returns, so this runs in NotifyHandshakeComplete).
    /// </summary>
    public static HandshakeKeys Capture(TlsContext context, long firstSequence)
    {
        SecurityParameters parameters = context.SecurityParameters;
        if (!CipherSuiteInfo.TryGet(parameters.CipherSuite, out CipherSuiteInfo? suite))
        {
            throw new TlsFatalAlert(AlertDescription.internal_error, $"negotiated an unsupported suite {parameters.CipherSuite:X4}");
        }

        byte[] keyBlock = TlsImplUtilities.CalculateKeyBlock(new TlsCryptoParameters(context), suite.KeyBlockLength);
        return new HandshakeKeys(
            suite,
            keyBlock,
            parameters.PskIdentity is { } identity ? Encoding.UTF8.GetString(identity) : null,
            parameters.ConnectionIDPeer ?? [],
            parameters.ConnectionIDLocal ?? [],
            firstSequence);
    }
}

internal enum HandshakeOutcome
{
    Failed,
    Completed,
    TimedOut,
    AlertReceived,
}
