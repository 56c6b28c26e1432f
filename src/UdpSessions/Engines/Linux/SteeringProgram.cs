using UdpSessions.Interop.Linux;
using static UdpSessions.Interop.Linux.BpfConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// The classic BPF program attached to the listeners' SO_REUSEPORT group (SO_ATTACH_REUSEPORT_CBPF). It returns the
/// index of the listener, and so of the I/O thread, that owns a peer: a hash of the peer's address and port modulo
/// the number of listeners. Why not the kernel's own hash: it is taken modulo the group's current size, and a session
/// socket joins the group for an instant (bound to the listening address, before connect() takes it out), so the
/// kernel would move peers between listeners, and send other peers' datagrams to the new socket, every time a session
/// gets its own socket. The program only ever returns indices of listeners (bound first, so 0..N-1), whatever else
/// is in the group (measured: 0 strays, no peer moved, with sockets joining and leaving under traffic).
/// </summary>
internal static class SteeringProgram
{
    private const uint GoldenRatio = 0x9E3779B1; // Fibonacci hashing: spreads neighbouring ports over the listeners

    /// <summary>The program for <paramref name="listeners"/> sockets of the given family (IPv6 sockets also see IPv4 packets when dual-stack).</summary>
    public static SockFilter[] Create(int listeners, bool ipv6)
    {
        if (listeners == 1)
        {
            return [Statement(BPF_RET | BPF_K, 0)];
        }

        List<SockFilter> v4 = HashIPv4(listeners);
        if (!ipv6)
        {
            return [.. v4];
        }

        List<SockFilter> v6 = HashIPv6(listeners);
        var program = new List<SockFilter>
        {
            Statement(BPF_LD | BPF_B | BPF_ABS, Net(0)), // version nibble
            Statement(BPF_ALU | BPF_RSH | BPF_K, 4),
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 4, jumpTrue: (byte)v6.Count, jumpFalse: 0),
        };
        program.AddRange(v6);
        program.AddRange(v4);
        return [.. program];
    }

    /// <summary>
    /// Tests only: every datagram to one listener, as after a change of the listening group (another process joining
    /// the port) that moves peers from one listener to another.
    /// </summary>
    public static SockFilter[] AllTo(int listener) => [Statement(BPF_RET | BPF_K, (uint)listener)];

    /// <summary>Source address xor source port (the UDP header follows the IPv4 header and its options).</summary>
    private static List<SockFilter> HashIPv4(int listeners) =>
    [
        Statement(BPF_LD | BPF_W | BPF_ABS, Net(12)),
        Statement(BPF_ST, 0),
        Statement(BPF_LDX | BPF_B | BPF_MSH, Net(0)), // X = IHL * 4
        Statement(BPF_LD | BPF_H | BPF_IND, Net(0)),  // source port
        Statement(BPF_LDX | BPF_MEM, 0),
        Statement(BPF_ALU | BPF_XOR | BPF_X, 0),
        .. Finish(listeners),
    ];

    /// <summary>
    /// The four words of the source address and the source port, xored. The port is read right after the fixed
    /// header: a datagram behind extension headers hashes on a different pair of bytes, but always the same ones for
    /// one flow, which is all steering needs.
    /// </summary>
    private static List<SockFilter> HashIPv6(int listeners)
    {
        var code = new List<SockFilter> { Statement(BPF_LD | BPF_W | BPF_ABS, Net(8)), Statement(BPF_ST, 0) };
        foreach (int offset in new[] { 12, 16, 20 })
        {
            code.Add(Statement(BPF_LD | BPF_W | BPF_ABS, Net(offset)));
            code.Add(Statement(BPF_LDX | BPF_MEM, 0));
            code.Add(Statement(BPF_ALU | BPF_XOR | BPF_X, 0));
            code.Add(Statement(BPF_ST, 0));
        }

        code.Add(Statement(BPF_LD | BPF_H | BPF_ABS, Net(40)));
        code.Add(Statement(BPF_LDX | BPF_MEM, 0));
        code.Add(Statement(BPF_ALU | BPF_XOR | BPF_X, 0));
        code.AddRange(Finish(listeners));
        return code;
    }

    private static SockFilter[] Finish(int listeners) =>
    [
        Statement(BPF_ALU | BPF_MUL | BPF_K, GoldenRatio),
        Statement(BPF_ALU | BPF_RSH | BPF_K, 16),
        Statement(BPF_ALU | BPF_MOD | BPF_K, (uint)listeners),
        Statement(BPF_RET | BPF_A, 0),
    ];

    /// <summary>The listener index the program gives a peer, computed the same way in managed code (tests, redirects).</summary>
    public static int IndexOf(in Internal.PeerAddress peer, int listeners)
    {
        if (listeners == 1)
        {
            return 0;
        }

        Span<byte> address = stackalloc byte[16];
        uint hash;
        if (peer.IsIPv6 && !peer.IsV4Mapped)
        {
            peer.WriteAddress(address);
            hash = Word(address, 0) ^ Word(address, 4) ^ Word(address, 8) ^ Word(address, 12);
        }
        else
        {
            peer.WriteAddress16(address);
            hash = Word(address, 12);
        }

        hash ^= (uint)peer.Port;
        return (int)(((hash * GoldenRatio) >> 16) % (uint)listeners);
    }

    private static uint Word(ReadOnlySpan<byte> bytes, int offset) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes[offset..]);

    private static uint Net(int offset) => unchecked((uint)(SKF_NET_OFF + offset));

    private static SockFilter Statement(int code, uint k) => new() { Code = (ushort)code, K = k };

    private static SockFilter Jump(int code, uint k, byte jumpTrue, byte jumpFalse) =>
        new() { Code = (ushort)code, K = k, JumpTrue = jumpTrue, JumpFalse = jumpFalse };
}
