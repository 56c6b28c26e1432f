namespace UdpSessions.Internal;

/// <summary>
/// The new-session rate limits: one token bucket for the whole server and one per source prefix. The per-prefix
/// buckets live in a fixed table allocated up front, so a flood from millions of sources cannot grow it: each
/// prefix hashes (with a per-server random seed, so an attacker cannot aim at a slot) to two candidate slots and takes
/// the one already its own, else an idle one, else shares the fuller one with the prefix there. Sharing can only
/// limit an innocent source more, never let a flooding one through faster.
/// </summary>
internal sealed class NewSessionRateLimiter
{
    private readonly Lock _lock = new();
    private readonly int _overallRate;
    private readonly int _perSourceRate;
    private readonly int _ipv4PrefixLength;
    private readonly int _ipv6PrefixLength;
    private readonly int _seed = Random.Shared.Next();
    private readonly SourceSlot[] _sources;
    private readonly int _mask;
    private TokenBucket _overall;

    public NewSessionRateLimiter(SessionServerOptions options, long now)
    {
        _overallRate = options.MaxNewSessionsPerSecond ?? 0;
        _perSourceRate = options.MaxNewSessionsPerSecondPerSource ?? 0;
        _ipv4PrefixLength = options.SourcePrefixLengthIPv4;
        _ipv6PrefixLength = options.SourcePrefixLengthIPv6;
        _overall = TokenBucket.Full(Math.Max(1, _overallRate), now);
        int size = _perSourceRate > 0 ? (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)options.SourceTableSize) : 0;
        _sources = new SourceSlot[size];
        _mask = size - 1;
    }

    /// <summary>Slots of the per-source table (its memory is fixed: about 40 bytes a slot).</summary>
    public int SourceTableSize => _sources.Length;

    /// <summary>
    /// Takes a token for a new session of <paramref name="peer"/> from its source's bucket, then from the overall one.
    /// Returns null when a session may be created, else the reason it may not.
    /// </summary>
    public DropReason? TryAdmit(in PeerAddress peer, long now)
    {
        lock (_lock)
        {
            if (_perSourceRate > 0 && !TakeForSource(peer.ToPrefix(_ipv4PrefixLength, _ipv6PrefixLength), now))
            {
                return DropReason.SourceRateLimit;
            }

            if (_overallRate > 0 && !_overall.TryTake(_overallRate, now))
            {
                return DropReason.NewSessionRateLimit;
            }

            return null;
        }
    }

    private bool TakeForSource(in PeerAddress prefix, long now)
    {
        int hash = HashCode.Combine(prefix, _seed);
        int first = hash & _mask;
        int second = (int)((uint)hash >> 16 ^ (uint)hash * 0x9E3779B1u) & _mask;
        ref SourceSlot a = ref _sources[first];
        ref SourceSlot b = ref _sources[second];
        ref SourceSlot slot = ref a.InUse && a.Prefix == prefix ? ref a
            : ref b.InUse && b.Prefix == prefix ? ref b
            : ref Claim(ref a, ref b, prefix, now);
        return slot.Bucket.TryTake(_perSourceRate, now);
    }

    private ref SourceSlot Claim(ref SourceSlot a, ref SourceSlot b, in PeerAddress prefix, long now)
    {
        if (TryClaim(ref a, prefix, now))
        {
            return ref a;
        }

        if (TryClaim(ref b, prefix, now))
        {
            return ref b;
        }

        // Both taken by active prefixes: share the one with more tokens left (see the class summary).
        return ref a.Bucket.MilliTokens(_perSourceRate, now) >= b.Bucket.MilliTokens(_perSourceRate, now) ? ref a : ref b;
    }

    private bool TryClaim(ref SourceSlot slot, in PeerAddress prefix, long now)
    {
        if (slot.InUse && !slot.Bucket.IsIdle(_perSourceRate, now))
        {
            return false;
        }

        slot = new SourceSlot { InUse = true, Prefix = prefix, Bucket = TokenBucket.Full(_perSourceRate, now) };
        return true;
    }

    private struct SourceSlot
    {
        public PeerAddress Prefix;
        public TokenBucket Bucket;
        public bool InUse;
    }
}
