using System.Net.Sockets;
using UdpSessions.Dtls;

namespace UdpSessions.Cli.Load;

/// <summary>
/// One client session: a connected socket with its own source port, so the server sees a distinct peer, plus the
/// requests it has in flight. Used by one client thread only.
/// </summary>
internal sealed class ClientSession : IDisposable
{
    private readonly Dictionary<long, long> _inFlight; // sequence -> send timestamp (the intended one in the open loop)
    private readonly Dictionary<long, long> _expired = []; // same, for requests past the reply timeout
    private readonly int _datagramSize;
    private readonly long _sendLimit;
    private readonly byte[]? _record; // DTLS: the sealed request
    private long _nextSequence;

    public ClientSession(int index, Socket socket, int datagramSize, int window, long startAt, long sendLimit = long.MaxValue, DtlsClient? dtls = null)
    {
        Index = index;
        Socket = socket;
        StartAt = startAt;
        Dtls = dtls;
        _datagramSize = datagramSize;
        _sendLimit = sendLimit;
        _inFlight = new Dictionary<long, long>(Math.Min(window, 1024));
        _record = dtls is null ? null : new byte[dtls.SealedLength(datagramSize)];
    }

    /// <summary>The session's DTLS connection (requests are sealed, replies opened), or null for plain UDP.</summary>
    public DtlsClient? Dtls { get; }

    /// <summary>The session id carried in every header; unique for the whole run, replacements included.</summary>
    public int Index { get; }

    public Socket Socket { get; }

    /// <summary>When the session sends its first request (<see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    public long StartAt { get; set; }

    public int InFlight => _inFlight.Count;

    /// <summary>True once the server has answered this session at least once: the server accepted it.</summary>
    public bool Answered { get; private set; }

    /// <summary>Churn: every request of its quota was sent and settled, so the session can be replaced.</summary>
    public bool IsSpent => _nextSequence >= _sendLimit && _inFlight.Count == 0;

    public bool CanSend => _nextSequence < _sendLimit;

    /// <summary>Sends requests until <paramref name="window"/> are in flight, the quota is used up or the socket refuses one.</summary>
    public void FillWindow(int window, Span<byte> scratch, long now, LoadTally tally)
    {
        while (_inFlight.Count < window && CanSend && TrySend(scratch, now, tally))
        {
        }
    }

    /// <summary>One request stamped with <paramref name="timestamp"/>; false if the socket refused it.</summary>
    public bool TrySend(Span<byte> scratch, long timestamp, LoadTally tally)
    {
        Span<byte> datagram = scratch[.._datagramSize];
        LoadDatagram.Write(datagram, new DatagramHeader(Index, _nextSequence, timestamp));
        if (Dtls is not null)
        {
            datagram = _record.AsSpan(0, Dtls.Seal(datagram, _record));
        }

        int sent = Socket.Send(datagram, SocketFlags.None, out SocketError error);
        if (error != SocketError.Success || sent != datagram.Length)
        {
            tally.CountSendError();
            return false;
        }

        _inFlight.Add(_nextSequence++, timestamp);
        tally.CountSent();
        return true;
    }

    public ReplyKind Classify(ReadOnlySpan<byte> reply, long now, MisrouteLedger misroutes, out long latencyTicks)
    {
        latencyTicks = 0;
        if (reply.Length < DatagramHeader.Size || !DatagramHeader.TryRead(reply, out DatagramHeader header))
        {
            return ReplyKind.Corrupt;
        }

        bool intact = reply.Length == _datagramSize && LoadDatagram.TryVerify(reply, out _);
        if (header.Session != Index)
        {
            if (!intact)
            {
                return ReplyKind.Corrupt;
            }

            misroutes.Record(header.Session, header.Sequence);
            return ReplyKind.WrongSession;
        }

        // A reply whose timestamp is not the one sent has a damaged header: it settles nothing, the request stays pending.
        if (_inFlight.TryGetValue(header.Sequence, out long sentAt) && sentAt == header.Timestamp)
        {
            // A damaged payload under an intact header is that request's answer, damaged: one fault (corrupt), not two.
            _inFlight.Remove(header.Sequence);
            Answered = true;
            latencyTicks = now - sentAt;
            return intact ? ReplyKind.Answered : ReplyKind.Corrupt;
        }

        if (intact && _expired.TryGetValue(header.Sequence, out sentAt) && sentAt == header.Timestamp)
        {
            _expired.Remove(header.Sequence);
            Answered = true;
            latencyTicks = now - sentAt;
            return ReplyKind.Late;
        }

        return intact && header.Sequence >= 0 && header.Sequence < _nextSequence ? ReplyKind.Duplicate : ReplyKind.Corrupt;
    }

    /// <summary>Moves requests older than the timeout out of flight; returns how many are lost (not misrouted).</summary>
    public int Expire(long now, long timeoutTicks, MisrouteLedger misroutes)
    {
        int lost = 0;
        foreach ((long sequence, long sentAt) in _inFlight)
        {
            if (now - sentAt >= timeoutTicks)
            {
                // Removing the current entry while enumerating is allowed for Dictionary since .NET Core 3.0.
                _inFlight.Remove(sequence);
                if (!misroutes.TryClaim(Index, sequence))
                {
                    _expired.Add(sequence, sentAt);
                    lost++;
                }
            }
        }

        return lost;
    }

    /// <summary>At the end of the run: requests still unanswered are lost unless their reply went to another session.</summary>
    public int SettleRemaining(MisrouteLedger misroutes)
    {
        int lost = 0;
        foreach (long sequence in _inFlight.Keys)
        {
            if (!misroutes.TryClaim(Index, sequence))
            {
                lost++;
            }
        }

        _inFlight.Clear();
        return lost;
    }

    public void Dispose()
    {
        Dtls?.Close(); // close_notify, so the server ends the session now rather than at its idle timeout
        Socket.Dispose();
        Dtls?.Dispose();
    }
}
