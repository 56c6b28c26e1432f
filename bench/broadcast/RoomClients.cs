using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Bench;

/// <summary>
/// The players: one connected socket each (its own session), joined with one datagram, then receiving snapshots.
/// Each snapshot carries its tick; per socket the receiver counts snapshots of the measured ticks and any that came
/// twice or out of order. One thread, readiness via Socket.Select.
/// </summary>
internal sealed class RoomClients : IDisposable
{
    private readonly Socket[] _sockets;
    private readonly int[] _lastTick;
    private readonly byte[] _buffer = new byte[65_536];

    public RoomClients(IPEndPoint server, int count)
    {
        _sockets = new Socket[count];
        _lastTick = new int[count];
        for (int i = 0; i < count; i++)
        {
            _sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 1 << 20 };
            _sockets[i].Connect(server);
            _lastTick[i] = -1;
        }
    }

    /// <summary>Snapshots of the measured ticks received (all sockets).</summary>
    public long Measured { get; private set; }

    /// <summary>Snapshots received twice or after a later one (must stay 0).</summary>
    public long Disordered { get; private set; }

    /// <summary>Each socket sends one datagram and waits for its echo: the session exists and is in the room.</summary>
    public void Join()
    {
        byte[] join = [0xFF, 0xFF, 0xFF, 0xFF];
        for (int start = 0; start < _sockets.Length; start += 100)
        {
            int end = Math.Min(_sockets.Length, start + 100);
            for (int i = start; i < end; i++)
            {
                _sockets[i].Send(join);
            }

            for (int i = start; i < end; i++)
            {
                if (!_sockets[i].Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead))
                {
                    throw new TimeoutException($"socket {i} was not answered when joining");
                }

                _sockets[i].Receive(_buffer);
            }
        }

        foreach (Socket socket in _sockets)
        {
            socket.Blocking = false;
        }
    }

    /// <summary>Receives until <paramref name="cancellationToken"/> fires, counting ticks at or after <paramref name="firstMeasured"/>.</summary>
    public void Receive(int firstMeasured, CancellationToken cancellationToken)
    {
        var readable = new List<Socket>(_sockets.Length);
        var index = new Dictionary<Socket, int>(_sockets.Length);
        for (int i = 0; i < _sockets.Length; i++)
        {
            index[_sockets[i]] = i;
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            readable.Clear();
            readable.AddRange(_sockets);
            Socket.Select(readable, null, null, 20_000);
            foreach (Socket socket in readable)
            {
                int i = index[socket];
                while (true)
                {
                    int length;
                    try
                    {
                        length = socket.Receive(_buffer);
                    }
                    catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
                    {
                        break;
                    }

                    int tick = length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(_buffer) : -1;
                    if (tick <= _lastTick[i])
                    {
                        Disordered++;
                        continue;
                    }

                    _lastTick[i] = tick;
                    if (tick >= firstMeasured)
                    {
                        Measured++;
                    }
                }
            }
        }
    }

    public void Dispose()
    {
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }
    }
}
