using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Bench;

/// <summary>
/// The attack: datagrams from ever new 127.x sources, at a set rate. A ring of sockets on distinct addresses sends in
/// turn; each socket is replaced by one on a fresh address after <c>reuse</c> datagrams, which keeps the sender's cost
/// per datagram low while the server keeps seeing unknown peers.
/// </summary>
internal sealed class Flooder(IPEndPoint target, int perSecond, int reuse) : IDisposable
{
    private const int Ring = 256;
    private readonly Socket?[] _ring = new Socket?[Ring];
    private readonly int[] _uses = new int[Ring];
    private long _nextSource;
    private long _sent;

    public long Sent => Interlocked.Read(ref _sent);

    public void Run(CancellationToken cancellationToken)
    {
        byte[] payload = new byte[48]; // longer than a cookie, so the cookie filter answers it
        var clock = Stopwatch.StartNew();
        long sent = 0;
        int slot = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (perSecond > 0 && sent >= (long)(clock.Elapsed.TotalSeconds * perSecond))
            {
                Thread.Sleep(1);
                continue;
            }

            Socket socket = Next(slot);
            try
            {
                socket.SendTo(payload, SocketFlags.None, target);
            }
            catch (SocketException)
            {
                // ICMP from an earlier echo, or a full queue: the flood is best effort
            }

            slot = (slot + 1) % Ring;
            sent++;
            Interlocked.Increment(ref _sent);
        }
    }

    public void Dispose()
    {
        foreach (Socket? socket in _ring)
        {
            socket?.Dispose();
        }
    }

    private Socket Next(int slot)
    {
        if (_ring[slot] is { } socket && _uses[slot]++ < reuse)
        {
            return socket;
        }

        _ring[slot]?.Dispose();
        var fresh = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
        fresh.Bind(new IPEndPoint(NewSources.Address(_nextSource++, firstOctet: 30), 0));
        _ring[slot] = fresh;
        _uses[slot] = 1;
        return fresh;
    }
}
