namespace UdpSessions.Forwarding;

/// <summary>
/// The upstreams in force and their hash ring, immutable: adding or removing an upstream publishes a new set, which
/// the I/O threads pick up with one volatile read. Health is not part of the set (it changes far more often); picks
/// skip unhealthy members as they go.
/// </summary>
internal sealed class UpstreamSet
{
    public UpstreamSet(IReadOnlyList<Upstream> members, int version)
    {
        Members = members;
        Version = version;
        Ring = new HashRing(members);
        _isUsable = index => Members[index].IsUsable;
    }

    private readonly Func<int, bool> _isUsable;

    public IReadOnlyList<Upstream> Members { get; }

    /// <summary>Changes with every new set (round-robin state is per set).</summary>
    public int Version { get; }

    public HashRing Ring { get; }

    /// <summary>
    /// The upstream of a new sticky session: the ring's owner of <paramref name="key"/>, skipping unhealthy members.
    /// When none is healthy, the ring's owner regardless (traffic to a doubtful upstream beats certain loss), with
    /// <paramref name="noneHealthy"/> set.
    /// </summary>
    public Upstream? PickByHash(ulong key, out bool noneHealthy)
    {
        // The ring walk that skips unusable points visits every point when none is usable: check that case first.
        int owner = AnyUsable() ? Ring.Owner(key, _isUsable) : -1;
        noneHealthy = owner < 0;
        if (owner < 0)
        {
            owner = Ring.Owner(key);
        }

        return owner < 0 ? null : Members[owner];
    }

    private bool AnyUsable()
    {
        foreach (Upstream upstream in Members)
        {
            if (upstream.IsUsable)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A member whose address and port are <paramref name="source"/> (round robin: who sent a reply), or null.</summary>
    public Upstream? Find(in Internal.PeerAddress source)
    {
        foreach (Upstream upstream in Members)
        {
            if (upstream.Address == source)
            {
                return upstream;
            }
        }

        return null;
    }
}
