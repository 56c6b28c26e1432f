using System.IO.Hashing;
using System.Text;
using UdpSessions.Internal;

namespace UdpSessions.Forwarding;

/// <summary>
/// Consistent hashing over the upstreams (ketama-style, as nginx's <c>hash ... consistent</c>): each upstream owns
/// 160 points per unit of weight on a 64-bit ring, placed by hashing its name, and a key belongs to the first point at
/// or after its own hash. Points depend only on each upstream's own name and weight, so adding or removing one
/// upstream moves exactly the keys whose nearest point was (or becomes) one of its points: its share, nothing else.
/// Hashes are XxHash3 with a fixed seed, so every forwarder process places a client on the same upstream.
/// </summary>
internal sealed class HashRing
{
    public const int PointsPerWeight = 160;

    private readonly ulong[] _points;
    private readonly int[] _owners;

    public HashRing(IReadOnlyList<Upstream> members)
    {
        var points = new List<(ulong Point, int Owner)>();
        for (int m = 0; m < members.Count; m++)
        {
            int count = PointsPerWeight * members[m].Weight;
            for (int i = 0; i < count; i++)
            {
                points.Add((XxHash3.HashToUInt64(Encoding.UTF8.GetBytes($"{members[m].Name}-{i}")), m));
            }
        }

        // Ties (vanishingly rare) are broken by name, so the order never depends on the order upstreams were added.
        points.Sort((a, b) => a.Point != b.Point ? a.Point.CompareTo(b.Point) : string.CompareOrdinal(members[a.Owner].Name, members[b.Owner].Name));
        _points = [.. points.Select(p => p.Point)];
        _owners = [.. points.Select(p => p.Owner)];
    }

    /// <summary>The hash of a client session's key: its address and port.</summary>
    public static ulong KeyOf(in PeerAddress client)
    {
        Span<byte> key = stackalloc byte[18];
        client.WriteAddress16(key);
        key[16] = (byte)(client.Port >> 8);
        key[17] = (byte)client.Port;
        return XxHash3.HashToUInt64(key);
    }

    /// <summary>
    /// The member owning <paramref name="key"/>; with <paramref name="accept"/>, the first member clockwise that it
    /// accepts. -1 when it accepts none (or the ring is empty).
    /// </summary>
    public int Owner(ulong key, Func<int, bool>? accept = null)
    {
        if (_points.Length == 0)
        {
            return -1;
        }

        int index = Array.BinarySearch(_points, key);
        if (index < 0)
        {
            index = ~index;
        }

        for (int step = 0; step < _points.Length; step++)
        {
            int owner = _owners[(index + step) % _points.Length];
            if (accept is null || accept(owner))
            {
                return owner;
            }
        }

        return -1;
    }
}
