using System.Net;
using System.Net.Sockets;
using UdpSessions.Internal;

namespace UdpSessions;

/// <summary>
/// A peer's address and port as a value, handed to an <see cref="AcceptFilter"/> without allocating (an
/// <see cref="IPEndPoint"/> would cost two objects per datagram of a flood).
/// </summary>
public readonly struct PeerEndPoint : IEquatable<PeerEndPoint>
{
    internal PeerEndPoint(PeerAddress address) => Address = address;

    /// <summary>The port.</summary>
    public int Port => Address.Port;

    /// <summary><see cref="AddressFamily.InterNetworkV6"/> (IPv4 peers of a dual-stack listener included) or <see cref="AddressFamily.InterNetwork"/>.</summary>
    public AddressFamily AddressFamily => Address.IsIPv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;

    internal PeerAddress Address { get; }

    /// <summary>Creates one from an endpoint (for tests and tools; allocation does not matter there).</summary>
    public static PeerEndPoint FromIPEndPoint(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return new PeerEndPoint(PeerAddress.FromIPEndPoint(endPoint));
    }

    /// <summary>Writes the address in network order: 4 bytes for IPv4, 16 for IPv6. Returns the count.</summary>
    public int WriteAddress(Span<byte> destination)
    {
        if (destination.Length < (Address.IsIPv6 ? 16 : 4))
        {
            throw new ArgumentException("The destination is too small for the address.", nameof(destination));
        }

        return Address.WriteAddress(destination);
    }

    /// <summary>
    /// Writes the address as 16 bytes in network order, an IPv4 address in its IPv4-mapped IPv6 form, so a peer reads
    /// the same through an IPv4 and a dual-stack listener.
    /// </summary>
    public void WriteAddress16(Span<byte> destination)
    {
        if (destination.Length < 16)
        {
            throw new ArgumentException("The destination must hold 16 bytes.", nameof(destination));
        }

        Address.WriteAddress16(destination);
    }

    /// <summary>The endpoint as an <see cref="IPEndPoint"/> (allocates).</summary>
    public IPEndPoint ToIPEndPoint() => Address.ToIPEndPoint();

    /// <inheritdoc />
    public bool Equals(PeerEndPoint other) => Address == other.Address;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is PeerEndPoint other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => Address.GetHashCode();

    /// <inheritdoc />
    public override string ToString() => Address.ToString();

    /// <summary>Equality.</summary>
    public static bool operator ==(PeerEndPoint left, PeerEndPoint right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(PeerEndPoint left, PeerEndPoint right) => !left.Equals(right);
}
