namespace UdpSessions.Forwarding;

/// <summary>
/// Smooth weighted round robin (nginx's): every pick adds each member's weight to its running score, takes the highest
/// and subtracts the total from it, which interleaves weights 5:1:1 as a a b a c a a rather than a a a a a b c. One
/// instance per I/O loop, so picks need no lock; unhealthy members are skipped while any healthy one is left.
/// </summary>
internal sealed class RoundRobinPicker
{
    private int[] _scores = [];
    private int _version = -1;

    public Upstream Pick(UpstreamSet set, out bool noneHealthy)
    {
        IReadOnlyList<Upstream> members = set.Members;
        if (_version != set.Version)
        {
            _scores = new int[members.Count];
            _version = set.Version;
        }

        int best = PickAmong(members, healthyOnly: true);
        noneHealthy = best < 0;
        if (best < 0)
        {
            best = PickAmong(members, healthyOnly: false);
        }

        return members[best];
    }

    private int PickAmong(IReadOnlyList<Upstream> members, bool healthyOnly)
    {
        int best = -1;
        int total = 0;
        for (int i = 0; i < members.Count; i++)
        {
            if (healthyOnly && !members[i].IsUsable)
            {
                continue;
            }

            _scores[i] += members[i].Weight;
            total += members[i].Weight;
            if (best < 0 || _scores[i] > _scores[best])
            {
                best = i;
            }
        }

        if (best >= 0)
        {
            _scores[best] -= total;
        }

        return best;
    }
}
