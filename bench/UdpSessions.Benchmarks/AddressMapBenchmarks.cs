using BenchmarkDotNet.Attributes;
using UdpSessions.Internal;

namespace UdpSessions.Benchmarks;

/// <summary>
/// The address map: a sockaddr from recvfrom turned into a <see cref="PeerAddress"/> and looked up among the server's
/// sessions (the listener's path, the accept race, and sessions served without a socket of their own).
/// </summary>
[Config(typeof(BenchmarkConfig))]
public class AddressMapBenchmarks
{
    private const int Lookups = 1024;
    private SessionRegistry _registry = null!;
    private byte[][] _sockaddrs = null!;

    [Params(1_000, 10_000)]
    public int Sessions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _registry = new SessionRegistry(Sessions);
        for (int i = 0; i < Sessions; i++)
        {
            _registry.TryAdd(Fixtures.NewSession(i), out _);
        }

        var random = new Random(42);
        _sockaddrs = [.. Enumerable.Range(0, Lookups).Select(_ =>
        {
            byte[] sockaddr = new byte[PeerAddress.SockAddrV6Length];
            Fixtures.Peer(random.Next(Sessions)).WriteLinuxSockAddr(sockaddr);
            return sockaddr;
        })];
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int FindBySockAddr()
    {
        int found = 0;
        foreach (byte[] sockaddr in _sockaddrs)
        {
            if (_registry.TryFind(new SessionKey(PeerAddress.FromLinuxSockAddr(sockaddr), default), out _))
            {
                found++;
            }
        }

        return found;
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int ParseSockAddrOnly()
    {
        int hash = 0;
        foreach (byte[] sockaddr in _sockaddrs)
        {
            hash ^= PeerAddress.FromLinuxSockAddr(sockaddr).GetHashCode();
        }

        return hash;
    }
}
