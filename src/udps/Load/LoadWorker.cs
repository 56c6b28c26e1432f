using System.Diagnostics;
using System.Net.Sockets;
using UdpSessions.Dtls;

namespace UdpSessions.Cli.Load;

/// <summary>
/// One client thread and its fixed share of the session slots. It waits for replies on its own readiness set,
/// verifies each one, and either answers it with the next request (closed loop) or sends on a fixed schedule (open
/// loop); every few milliseconds it starts due sessions, expires old requests and, in churn mode, replaces spent sessions.
/// </summary>
internal sealed class LoadWorker : IDisposable
{
    // The wait returns at least this often, so phase changes and cancellation are seen promptly even when nothing arrives.
    private const int MaxWaitMs = 10;
    private const int MaxSendsPerPass = 1024;
    private static readonly long HousekeepingTicks = Stopwatch.Frequency / 50;

    private readonly ClientSession?[] _slots; // ordered by start time; a slot is null while its replacement cannot be opened
    private readonly LoadClientOptions _options;
    private readonly SessionFactory _factory;
    private readonly MisrouteLedger _misroutes;
    private readonly Readiness _readiness;
    private readonly List<int> _ready;
    private readonly byte[] _sendBuffer;
    private readonly byte[] _receiveBuffer = new byte[LoadClientOptions.MaxDatagramSize + 1];
    private readonly byte[] _plaintext = new byte[LoadClientOptions.MaxDatagramSize + 1];
    private readonly double _ticksPerSend; // open loop only
    private readonly int _readsPerWake;
    private double _nextSendAt;
    private int _nextSender;
    private int _started;

    public LoadWorker(ClientSession[] sessions, LoadClientOptions options, SessionFactory factory, MisrouteLedger misroutes, double workerRate, ReplyTimeline timeline)
    {
        Timeline = timeline;
        _slots = sessions;
        _options = options;
        _factory = factory;
        _misroutes = misroutes;
        _readiness = Readiness.Create(sessions.Length);
        _ready = new List<int>(sessions.Length);
        _sendBuffer = new byte[options.DatagramSize];
        _ticksPerSend = workerRate > 0 ? Stopwatch.Frequency / workerRate : 0;
        _readsPerWake = options.Rate is null ? (2 * options.Window) + 2 : 64;
    }

    public LoadTally Tally { get; } = new();

    /// <summary>This thread's replies per interval of the run.</summary>
    public ReplyTimeline Timeline { get; }

    private bool OpenLoop => _ticksPerSend > 0;

    public void Run(LoadSchedule schedule, CancellationToken cancellationToken)
    {
        _nextSendAt = schedule.Start;
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

            long wakeAt = nextHousekeeping;
            // Requests due before the end of sending are sent even if the generator fell behind: they carry their due time.
            if (OpenLoop && _nextSendAt < schedule.SendEnd)
            {
                SendDue(now, schedule);
                wakeAt = Math.Min(wakeAt, (long)_nextSendAt);
            }

            // Below a millisecond the wait would oversleep the schedule: poll instead (the generator owns its core).
            int timeoutMs = (int)Math.Clamp((wakeAt - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency, 0, MaxWaitMs);
            _ready.Clear();
            _readiness.Wait(_ready, timeoutMs);
            foreach (int slot in _ready)
            {
                Drain(slot, schedule);
            }
        }

        foreach (ClientSession? session in _slots)
        {
            if (session is null)
            {
                continue;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                Tally.CountInFlightAtStop(session.InFlight);
            }
            else
            {
                // Whatever is still in flight got no answer within the drain: lost.
                Tally.CountExpired(session.SettleRemaining(_misroutes));
            }
        }
    }

    public void Dispose()
    {
        foreach (ClientSession? session in _slots)
        {
            session?.Dispose();
        }

        _readiness.Dispose();
    }

    /// <summary>Starts due sessions, expires old requests, refills windows, replaces spent sessions; false once sending is over and nothing is in flight.</summary>
    private bool Housekeep(LoadSchedule schedule, long now)
    {
        bool sending = schedule.IsSending(now);
        bool owesSends = OpenLoop && _nextSendAt < schedule.SendEnd && _started > 0;
        while (sending && _started < _slots.Length && _slots[_started]!.StartAt <= now)
        {
            _readiness.Add(_started, _slots[_started]!);
            _started++;
        }

        long inFlight = 0;
        for (int slot = 0; slot < _started; slot++)
        {
            ClientSession? session = _slots[slot];
            if (session is not null)
            {
                Tally.CountExpired(session.Expire(now, schedule.ReplyTimeoutTicks, _misroutes));
            }

            if (sending && (session is null || session.IsSpent))
            {
                session = Replace(slot, now);
            }

            if (session is null)
            {
                continue;
            }

            if (sending && !OpenLoop)
            {
                // Refills what expired requests and refused sends left open; replies refill the rest on arrival.
                session.FillWindow(_options.Window, _sendBuffer, now, Tally);
            }

            inFlight += session.InFlight;
        }

        return sending || owesSends || inFlight > 0;
    }

    /// <summary>Open loop: sends every request whose time has come, each stamped with its due time, not the time it left.</summary>
    private void SendDue(long now, LoadSchedule schedule)
    {
        for (int sends = 0; sends < MaxSendsPerPass && _nextSendAt <= now && _nextSendAt < schedule.SendEnd; sends++)
        {
            ClientSession? session = NextSender();
            if (session is null)
            {
                return; // nobody can send yet; the schedule keeps its debt and the latency will show it
            }

            if (!session.TrySend(_sendBuffer, (long)_nextSendAt, Tally))
            {
                return; // socket buffer full: retry on the next pass with the same due time
            }

            _nextSendAt += _ticksPerSend;
        }
    }

    private ClientSession? NextSender()
    {
        for (int tried = 0; tried < _started; tried++)
        {
            int slot = _nextSender;
            _nextSender = (_nextSender + 1) % _started;
            if (_slots[slot] is { CanSend: true } session)
            {
                return session;
            }
        }

        return null;
    }

    private void Drain(int slot, LoadSchedule schedule)
    {
        ClientSession? session = _slots[slot];
        if (session is null)
        {
            return;
        }

        for (int i = 0; i < _readsPerWake; i++)
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

            ReadOnlySpan<byte> reply = _receiveBuffer.AsSpan(0, length);
            if (session.Dtls is { } dtls)
            {
                switch (dtls.Open(reply, _plaintext, out int plaintextLength))
                {
                    case DtlsRecordStatus.Data:
                        reply = _plaintext.AsSpan(0, plaintextLength);
                        break;
                    case DtlsRecordStatus.Dropped:
                        Tally.Count(ReplyKind.Corrupt, 0, measuring: false); // a record that does not authenticate is a damaged reply
                        continue;
                    default:
                        continue; // the server repeating its last handshake flight, or closing
                }
            }

            bool wasAnswered = session.Answered;
            ReplyKind kind = session.Classify(reply, now, _misroutes, out long latency);
            bool measuring = schedule.IsMeasuring(now);
            Tally.Count(kind, latency, measuring);
            if (kind is ReplyKind.Answered or ReplyKind.Late)
            {
                Timeline.Count(now);
            }

            if (!wasAnswered && session.Answered)
            {
                Tally.CountSessionAccepted(measuring);
            }

            if (!schedule.IsSending(now))
            {
                continue;
            }

            if (session.IsSpent)
            {
                Replace(slot, now);
                return;
            }

            if (kind is ReplyKind.Answered or ReplyKind.Late or ReplyKind.Corrupt && !OpenLoop)
            {
                session.FillWindow(_options.Window, _sendBuffer, now, Tally);
            }
        }
    }

    /// <summary>Churn: closes a spent session's socket and opens a new session (new socket, new source port) in its slot.</summary>
    private ClientSession? Replace(int slot, long now)
    {
        if (_slots[slot] is ClientSession old)
        {
            _readiness.Remove(slot, old);
            old.Dispose();
            _slots[slot] = null;
        }

        ClientSession fresh;
        try
        {
            fresh = _factory.Open(now);
        }
        catch (SocketException)
        {
            Tally.CountOpenError(); // retried at the next housekeeping
            return null;
        }

        _slots[slot] = fresh;
        _readiness.Add(slot, fresh);
        if (!OpenLoop)
        {
            fresh.FillWindow(_options.Window, _sendBuffer, now, Tally);
        }

        return fresh;
    }
}
