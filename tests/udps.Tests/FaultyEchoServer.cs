using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Cli.Tests;

/// <summary>
/// A deliberately wrong echo server on one loopback socket: among the datagrams numbered
/// [<see cref="FaultPlan.FirstFaulty"/>, <see cref="FaultPlan.FirstFaulty"/> + <see cref="FaultPlan.FaultySpan"/>) it
/// drops, corrupts, duplicates or swaps replies between two peers, each every Nth datagram, and counts each fault it
/// commits. Outside that range it echoes faithfully, so every fault is settled before the load ends.
/// </summary>
internal sealed class FaultyEchoServer : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly FaultPlan _plan;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private byte[]? _held; // a reply waiting to be swapped with the next other peer's
    private SocketAddress? _heldPeer;

    public FaultyEchoServer(FaultPlan plan)
    {
        _plan = plan;
        _socket.ReceiveBufferSize = 4 << 20;
        _socket.SendBufferSize = 4 << 20;
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _socket.ReceiveTimeout = 50;
        _thread = new Thread(Run) { IsBackground = true, Name = "faulty-echo" };
        _thread.Start();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public long Received { get; private set; }

    public long Dropped { get; private set; }

    public long Corrupted { get; private set; }

    public long Duplicated { get; private set; }

    /// <summary>Replies sent to the other peer of a swapped pair (two per swap).</summary>
    public long Misrouted { get; private set; }

    /// <summary>A reply still held for a swap when the server stopped (it never left).</summary>
    public bool HoldingAtStop { get; private set; }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
        HoldingAtStop = _held is not null;
        _socket.Dispose();
    }

    private void Run()
    {
        byte[] buffer = new byte[65_536];
        var peer = new SocketAddress(AddressFamily.InterNetwork);
        while (!_stopping)
        {
            int length;
            try
            {
                length = _socket.ReceiveFrom(buffer, SocketFlags.None, peer);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.ConnectionRefused)
            {
                continue;
            }

            long index = Received++;
            if (index == _plan.StallAt)
            {
                // The server stops reading for a while, as a GC pause or a blocked thread would: requests queue up.
                Thread.Sleep(_plan.StallFor);
            }

            Span<byte> datagram = buffer.AsSpan(0, length);
            bool faulty = index >= _plan.FirstFaulty && index < _plan.FirstFaulty + _plan.FaultySpan;
            long n = index - _plan.FirstFaulty;
            if (_held is not null && !peer.Equals(_heldPeer))
            {
                // Complete the swap: each of the two peers gets the other's reply.
                _socket.SendTo(_held, SocketFlags.None, peer);
                _socket.SendTo(datagram, SocketFlags.None, _heldPeer!);
                Misrouted += 2;
                _held = null;
                _heldPeer = null;
            }
            else if (faulty && Every(_plan.DropEvery, n, 0))
            {
                Dropped++;
            }
            else if (faulty && Every(_plan.CorruptEvery, n, 1) && length > _plan.CorruptOffset)
            {
                datagram[_plan.CorruptOffset] ^= 0x5A;
                _socket.SendTo(datagram, SocketFlags.None, peer);
                Corrupted++;
            }
            else if (faulty && Every(_plan.DuplicateEvery, n, 2))
            {
                _socket.SendTo(datagram, SocketFlags.None, peer);
                _socket.SendTo(datagram, SocketFlags.None, peer);
                Duplicated++;
            }
            else if (faulty && _held is null && Every(_plan.SwapEvery, n, 3))
            {
                _held = datagram.ToArray();
                _heldPeer = new SocketAddress(peer.Family, peer.Size);
                peer.Buffer.CopyTo(_heldPeer.Buffer);
            }
            else
            {
                _socket.SendTo(datagram, SocketFlags.None, peer);
            }
        }
    }

    // Each fault has its own phase, so two faults never claim the same datagram.
    private static bool Every(int period, long n, int phase) => period > 0 && n % period == phase;
}

/// <summary>Which faults a <see cref="FaultyEchoServer"/> commits: 0 turns a fault off; periods should differ in phase (see Every).</summary>
internal sealed record FaultPlan
{
    public int FirstFaulty { get; init; } = 200;

    public int FaultySpan { get; init; } = 2_000;

    public int DropEvery { get; init; }

    public int CorruptEvery { get; init; }

    /// <summary>The byte flipped: past the 20-byte header by default, so the reply still names its request.</summary>
    public int CorruptOffset { get; init; } = 30;

    public int DuplicateEvery { get; init; }

    public int SwapEvery { get; init; }

    /// <summary>Before echoing this datagram (by arrival number) the server sleeps <see cref="StallFor"/>; -1: never.</summary>
    public long StallAt { get; init; } = -1;

    public TimeSpan StallFor { get; init; }
}
