using System.Buffers.Binary;
using System.Net;
using UdpSessions.Internal;

namespace UdpSessions.ProxyProtocol;

/// <summary>
/// The PROXY check of a new peer's first datagram, in the accept gate before anything exists for it: a balancer's
/// first datagram must carry a valid header; anyone else's must not carry one. Allocation-free.
/// </summary>
internal sealed class ProxyProtocolGate
{
    private readonly (UInt128 Network, UInt128 Mask)[] _allowed;

    public ProxyProtocolGate(ProxyProtocolOptions options) =>
        _allowed = [.. options.AllowedSources.Select(network => (Bits(network.BaseAddress) & MaskOf(network), MaskOf(network)))];

    /// <summary>True when <paramref name="source"/> is one of the balancers.</summary>
    public bool IsBalancer(in PeerAddress source)
    {
        Span<byte> bytes = stackalloc byte[16];
        source.WriteAddress16(bytes);
        UInt128 address = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        foreach ((UInt128 network, UInt128 mask) in _allowed)
        {
            if ((address & mask) == network)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>False when the first datagram must be dropped (<see cref="DropReason.ProxyHeaderRejected"/>).</summary>
    public bool Admits(in PeerAddress source, ReadOnlySpan<byte> datagram) => IsBalancer(source)
        ? ProxyProtocolV2.TryRead(datagram, out _) is ProxyHeaderStatus.Proxy or ProxyHeaderStatus.Local
        : !ProxyProtocolV2.StartsWithSignature(datagram);

    private static UInt128 Bits(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.MapToIPv6().TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    private static UInt128 MaskOf(IPNetwork network)
    {
        int bits = network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 96 + network.PrefixLength : network.PrefixLength;
        return bits == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - bits);
    }
}
