namespace UdpSessions.Dtls.Records;

/// <summary>
/// The anti-replay window of RFC 6347 4.1.2.6 for one epoch: the highest authenticated sequence number and a 64-bit
/// map of the ones below it. Records are checked before decryption (cheap rejection) and marked only after they
/// authenticated, so forged records cannot move the window. Used by one thread.
/// </summary>
internal sealed class ReplayWindow
{
    private const int Size = 64;
    private long _highest = -1;
    private ulong _seen; // bit i: _highest - i was received

    /// <summary>True when <paramref name="sequence"/> was already received or is older than the window.</summary>
    public bool IsReplay(long sequence)
    {
        if (sequence > _highest)
        {
            return false;
        }

        long age = _highest - sequence;
        return age >= Size || (_seen & (1UL << (int)age)) != 0;
    }

    /// <summary>Marks an authenticated record; true when it is the newest so far (RFC 9146 address updates need that).</summary>
    public bool Accept(long sequence)
    {
        if (sequence > _highest)
        {
            long shift = sequence - _highest;
            _seen = shift >= Size ? 1UL : (_seen << (int)shift) | 1UL;
            _highest = sequence;
            return true;
        }

        _seen |= 1UL << (int)(_highest - sequence);
        return false;
    }
}
