namespace UdpSessions.Internal;

/// <summary>
/// Hashed timer wheel for idle timeouts, one per I/O loop so it needs no lock. A session is not moved on every
/// datagram: receiving only stamps <see cref="Session.LastActivity"/>, and when its bucket comes round a session that
/// was active is re-filed under its new deadline. Each session therefore costs O(1) per idle period, not per datagram.
/// </summary>
internal sealed class TimerWheel
{
    private readonly Session?[] _buckets;
    private readonly long _timeoutMs;
    private readonly long _tickMs;
    private long _currentTick;

    public TimerWheel(TimeSpan timeout, long nowMs)
    {
        _timeoutMs = (long)timeout.TotalMilliseconds;
        _tickMs = Math.Clamp(_timeoutMs / 8, 5, 1000);
        _buckets = new Session?[(_timeoutMs / _tickMs) + 3];
        _currentTick = nowMs / _tickMs;
    }

    public int Count { get; private set; }

    public void Schedule(Session session)
    {
        long deadlineTick = (session.LastActivity + _timeoutMs + _tickMs - 1) / _tickMs;
        int bucket = (int)(Math.Max(deadlineTick, _currentTick + 1) % _buckets.Length);
        Session? head = _buckets[bucket];
        session.WheelNext = head;
        session.WheelPrev = null;
        head?.WheelPrev = session;
        _buckets[bucket] = session;
        session.WheelBucket = bucket;
        Count++;
    }

    public void Remove(Session session)
    {
        if (session.WheelBucket < 0)
        {
            return;
        }

        if (session.WheelPrev is null)
        {
            _buckets[session.WheelBucket] = session.WheelNext;
        }
        else
        {
            session.WheelPrev.WheelNext = session.WheelNext;
        }

        session.WheelNext?.WheelPrev = session.WheelPrev;
        session.WheelNext = session.WheelPrev = null;
        session.WheelBucket = -1;
        Count--;
    }

    /// <summary>Milliseconds until the next tick is due, for the loop's wait timeout.</summary>
    public int MillisecondsUntilNextTick(long nowMs) => (int)Math.Clamp(((_currentTick + 1) * _tickMs) - nowMs, 0, _tickMs);

    /// <summary>Processes every tick up to <paramref name="nowMs"/>; calls <paramref name="expire"/> for each idle session.</summary>
    public void Advance(long nowMs, Action<Session> expire)
    {
        long targetTick = nowMs / _tickMs;
        if (targetTick - _currentTick > _buckets.Length)
        {
            _currentTick = targetTick - _buckets.Length; // one revolution visits every bucket
        }

        while (_currentTick < targetTick)
        {
            _currentTick++;
            int bucket = (int)(_currentTick % _buckets.Length);
            Session? session = _buckets[bucket];
            while (session is not null)
            {
                Session? next = session.WheelNext;
                Remove(session);
                if (session.LastActivity + _timeoutMs <= nowMs)
                {
                    expire(session);
                }
                else
                {
                    Schedule(session);
                }

                session = next;
            }
        }
    }
}
