using System.Diagnostics;
using System.Net.Sockets;

namespace UdpSessions.Cli.Load;

/// <summary>
/// One client thread: waits on its share of the sockets with <see cref="Socket.Select"/>, answers each reply with the
/// next request (closed loop), and every few milliseconds starts due sessions, refills windows and expires requests.
/// </summary>
internal sealed class LoadWorker
{
    // Select wakes at least this often, so phase changes and cancellation are seen promptly even when nothing arrives.
    private const int SelectTimeoutMicros = 10_000;
    private static readonly long HousekeepingTicks = Stopwatch.Frequency / 50;

    private readonly ClientSession[] _sessions; // ordered by start time
    private readonly Dictionary<Socket, ClientSession> _bySocket;
    private readonly List<Socket> _startedSockets;
    private readonly List<Socket> _ready;
    private readonly int _window;
    private readonly byte[] _sendBuffer;
    private readonly byte[] _receiveBuffer = new byte[LoadClientOptions.MaxDatagramSize + 1];
    private int _started;

    public LoadWorker(ClientSession[] sessions, int window, int datagramSize)
    {
        _sessions = sessions;
        _bySocket = sessions.ToDictionary(s => s.Socket);
        _startedSockets = new List<Socket>(sessions.Length);
        _ready = new List<Socket>(sessions.Length);
        _window = window;
        _sendBuffer = new byte[datagramSize];
    }

    public LoadTally Tally { get; } = new();

    public void Run(LoadSchedule schedule, CancellationToken cancellationToken)
    {
        long nextHousekeeping = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            long now = Stopwatch.GetTimestamp();
            if (now >= schedule.DrainEnd)
            {
                break;
            }

            if (now >= nextHousekeeping)
            {
                if (!Housekeep(schedule, now))
                {
                    break;
                }

                nextHousekeeping = now + HousekeepingTicks;
            }

            _ready.Clear();
            _ready.AddRange(_startedSockets);
            if (_ready.Count == 0)
            {
                Thread.Sleep(1);
                continue;
            }

            Socket.Select(_ready, null, null, SelectTimeoutMicros);
            foreach (Socket socket in _ready)
            {
                Drain(_bySocket[socket], schedule);
            }
        }

        // Whatever is still in flight got no answer within the drain: lost.
        foreach (ClientSession session in _sessions)
        {
            Tally.CountExpired(session.InFlight);
        }
    }

    /// <summary>Starts due sessions, expires old requests, refills windows; false once sending is over and nothing is in flight.</summary>
    private bool Housekeep(LoadSchedule schedule, long now)
    {
        bool sending = schedule.IsSending(now);
        while (sending && _started < _sessions.Length && _sessions[_started].StartAt <= now)
        {
            _startedSockets.Add(_sessions[_started++].Socket);
        }

        long inFlight = 0;
        for (int i = 0; i < _started; i++)
        {
            ClientSession session = _sessions[i];
            Tally.CountExpired(session.Expire(now, schedule.ReplyTimeoutTicks));
            if (sending)
            {
                // Refills what expired requests and refused sends left open; replies refill the rest on arrival.
                session.FillWindow(_window, _sendBuffer, now, Tally);
            }

            inFlight += session.InFlight;
        }

        return sending || inFlight > 0;
    }

    private void Drain(ClientSession session, LoadSchedule schedule)
    {
        // A session never has more than its window outstanding, so a few reads empty its queue in the normal case.
        for (int i = 0; i < 2 * _window + 2; i++)
        {
            int length = session.Socket.Receive(_receiveBuffer, SocketFlags.None, out SocketError error);
            long now = Stopwatch.GetTimestamp();
            switch (error)
            {
                case SocketError.Success:
                    break;
                case SocketError.WouldBlock:
                    return;
                case SocketError.MessageSize:
                    Tally.Count(ReplyKind.Corrupt, 0, measuring: false);
                    continue;
                default:
                    // ICMP errors (e.g. connection refused) surface here; keep reading what else is queued.
                    Tally.CountReceiveError();
                    continue;
            }

            ReplyKind kind = session.Classify(_receiveBuffer.AsSpan(0, length), now, out long latency);
            Tally.Count(kind, latency, schedule.IsMeasuring(now));
            if (kind is ReplyKind.Answered or ReplyKind.Late && schedule.IsSending(now))
            {
                session.FillWindow(_window, _sendBuffer, now, Tally);
            }
        }
    }
}
