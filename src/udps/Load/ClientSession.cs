using System.Net.Sockets;

namespace UdpSessions.Cli.Load;

/// <summary>
/// One client session: a connected socket with its own source port, so the server sees a distinct peer, plus the
/// requests it has in flight. Used by one client thread only.
/// </summary>
internal sealed class ClientSession : IDisposable
{
    private readonly Dictionary<long, long> _inFlight; // sequence -> send timestamp
    private readonly Dictionary<long, long> _expired = []; // same, for requests past the reply timeout
    private readonly int _datagramSize;
    private long _nextSequence;

    public ClientSession(int index, Socket socket, int datagramSize, int window, long startAt)
    {
        Index = index;
        Socket = socket;
        StartAt = startAt;
        _datagramSize = datagramSize;
        _inFlight = new Dictionary<long, long>(window);
    }

    public int Index { get; }

    public Socket Socket { get; }

    /// <summary>When the session sends its first request (<see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    public long StartAt { get; }

    public int InFlight => _inFlight.Count;

    /// <summary>Sends requests until <paramref name="window"/> are in flight or the socket refuses one.</summary>
    public void FillWindow(int window, Span<byte> scratch, long now, LoadTally tally)
    {
        while (_inFlight.Count < window && TrySend(scratch, now, tally))
        {
        }
    }

    public ReplyKind Classify(ReadOnlySpan<byte> reply, long now, out long latencyTicks)
    {
        latencyTicks = 0;
        if (reply.Length != _datagramSize || !LoadDatagram.TryVerify(reply, out DatagramHeader header))
        {
            return ReplyKind.Corrupt;
        }

        if (header.Session != Index)
        {
            return ReplyKind.WrongSession;
        }

        // A reply whose timestamp is not the one sent is damaged; the request stays pending for its real answer.
        if (_inFlight.TryGetValue(header.Sequence, out long sentAt))
        {
            if (sentAt != header.Timestamp)
            {
                return ReplyKind.Corrupt;
            }

            _inFlight.Remove(header.Sequence);
            latencyTicks = now - sentAt;
            return ReplyKind.Answered;
        }

        if (_expired.TryGetValue(header.Sequence, out sentAt))
        {
            if (sentAt != header.Timestamp)
            {
                return ReplyKind.Corrupt;
            }

            _expired.Remove(header.Sequence);
            latencyTicks = now - sentAt;
            return ReplyKind.Late;
        }

        return header.Sequence >= 0 && header.Sequence < _nextSequence ? ReplyKind.Duplicate : ReplyKind.Corrupt;
    }

    /// <summary>Moves requests older than the timeout out of flight; returns how many.</summary>
    public int Expire(long now, long timeoutTicks)
    {
        int expired = 0;
        foreach ((long sequence, long sentAt) in _inFlight)
        {
            if (now - sentAt >= timeoutTicks)
            {
                // Removing the current entry while enumerating is allowed for Dictionary since .NET Core 3.0.
                _inFlight.Remove(sequence);
                _expired.Add(sequence, sentAt);
                expired++;
            }
        }

        return expired;
    }

    public void Dispose() => Socket.Dispose();

    private bool TrySend(Span<byte> scratch, long now, LoadTally tally)
    {
        Span<byte> datagram = scratch[.._datagramSize];
        var header = new DatagramHeader(Index, _nextSequence, now);
        LoadDatagram.Write(datagram, header);
        int sent = Socket.Send(datagram, SocketFlags.None, out SocketError error);
        if (error != SocketError.Success || sent != datagram.Length)
        {
            tally.CountSendError();
            return false;
        }

        _inFlight.Add(_nextSequence++, now);
        tally.CountSent();
        return true;
    }
}
