namespace UdpSessions.Internal;

/// <summary>
/// A token bucket in integer arithmetic: <c>rate</c> tokens per second, holding at most one second's worth (the
/// burst). Tokens are kept in thousandths so that one millisecond of refill is exact for any integer rate.
/// Not thread-safe; the owner locks.
/// </summary>
internal struct TokenBucket
{
    private long _milliTokens;
    private long _stampMilliseconds;

    /// <summary>A full bucket as of <paramref name="now"/>.</summary>
    public static TokenBucket Full(int rate, long now) => new() { _milliTokens = Capacity(rate), _stampMilliseconds = now };

    /// <summary>Refills for the time since the last call and takes one token if there is one.</summary>
    public bool TryTake(int rate, long now)
    {
        Refill(rate, now);
        if (_milliTokens < 1000)
        {
            return false;
        }

        _milliTokens -= 1000;
        return true;
    }

    /// <summary>True when the bucket has refilled completely: nobody has used it for a second or more.</summary>
    public bool IsIdle(int rate, long now)
    {
        long elapsed = now - _stampMilliseconds;
        return elapsed >= 1000 || _milliTokens + (elapsed * rate) >= Capacity(rate);
    }

    /// <summary>Tokens left, after refilling to <paramref name="now"/> (in thousandths).</summary>
    public long MilliTokens(int rate, long now)
    {
        Refill(rate, now);
        return _milliTokens;
    }

    private static long Capacity(int rate) => rate * 1000L;

    private void Refill(int rate, long now)
    {
        long elapsed = now - _stampMilliseconds;
        if (elapsed > 0)
        {
            _milliTokens = Math.Min(Capacity(rate), _milliTokens + (Math.Min(elapsed, 1000) * rate));
            _stampMilliseconds = now;
        }
    }
}
