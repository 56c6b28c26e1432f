using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Bench;

/// <summary>
/// Established peers in a closed loop: each socket keeps <c>window</c> echo requests in flight and sends the next one
/// when a reply comes back. Replies are checked (own socket index and a sequence number it sent); a socket that gets
/// nothing for a second counts its in-flight requests as lost and starts over. One thread, readiness via Socket.Select.
/// </summary>
internal sealed class SteadyClients : IDisposable
{
    private readonly Socket[] _sockets;
    private readonly int _window;
    private readonly int _payloadSize;
    private readonly long[] _nextSequence;
    private readonly int[] _inFlight;
    private readonly long[] _lastReply;
    private long _replies;
    private long _lost;
    private long _wrong;

    public SteadyClients(IPEndPoint target, int clients, int window, int payloadSize)
    {
        _window = window;
        _payloadSize = Math.Max(payloadSize, 12);
        _sockets = new Socket[clients];
        _nextSequence = new long[clients];
        _inFlight = new int[clients];
        _lastReply = new long[clients];
        for (int i = 0; i < clients; i++)
        {
            _sockets[i] = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { Blocking = false, ReceiveBufferSize = 1 << 20 };
            _sockets[i].Connect(target);
        }
    }

    /// <summary>Runs <paramref name="handshake"/> on each socket before the loop (e.g. to prove the address with a cookie).</summary>
    public void ForEachSocket(Action<Socket> handshake)
    {
        foreach (Socket socket in _sockets)
        {
            handshake(socket);
        }
    }

    /// <summary>Replies received and verified.</summary>
    public long Replies => Interlocked.Read(ref _replies);

    /// <summary>Requests that got no reply within a second.</summary>
    public long Lost => Interlocked.Read(ref _lost);

    /// <summary>Replies that were not one of this socket's own requests (must stay 0).</summary>
    public long Wrong => Interlocked.Read(ref _wrong);

    /// <summary>Runs the loop until <paramref name="cancellationToken"/> fires.</summary>
    public void Run(CancellationToken cancellationToken)
    {
        byte[] payload = new byte[_payloadSize];
        byte[] buffer = new byte[65_536];
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < _sockets.Length; i++)
        {
            _lastReply[i] = now;
            Refill(i, payload);
        }

        var readable = new List<Socket>(_sockets.Length);
        while (!cancellationToken.IsCancellationRequested)
        {
            readable.Clear();
            readable.AddRange(_sockets);
            Socket.Select(readable, null, null, 50_000);
            foreach (Socket socket in readable)
            {
                int index = Array.IndexOf(_sockets, socket);
                while (TryReceive(socket, buffer, out int length))
                {
                    if (length < 12 || BinaryPrimitives.ReadInt32LittleEndian(buffer) != index
                        || BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(4)) >= _nextSequence[index])
                    {
                        Interlocked.Increment(ref _wrong);
                        continue;
                    }

                    Interlocked.Increment(ref _replies);
                    _inFlight[index] = Math.Max(0, _inFlight[index] - 1);
                    _lastReply[index] = Stopwatch.GetTimestamp();
                }

                Refill(index, payload);
            }

            now = Stopwatch.GetTimestamp();
            for (int i = 0; i < _sockets.Length; i++)
            {
                if (_inFlight[i] > 0 && Stopwatch.GetElapsedTime(_lastReply[i], now) > TimeSpan.FromSeconds(1))
                {
                    Interlocked.Add(ref _lost, _inFlight[i]);
                    _inFlight[i] = 0;
                    _lastReply[i] = now;
                    Refill(i, payload);
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

    private void Refill(int index, byte[] payload)
    {
        while (_inFlight[index] < _window)
        {
            BinaryPrimitives.WriteInt32LittleEndian(payload, index);
            BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(4), _nextSequence[index]++);
            try
            {
                _sockets[index].Send(payload);
            }
            catch (SocketException)
            {
                return; // a full buffer or an ICMP error: the timeout above recovers
            }

            _inFlight[index]++;
        }
    }

    private static bool TryReceive(Socket socket, byte[] buffer, out int length)
    {
        try
        {
            length = socket.Receive(buffer);
            return true;
        }
        catch (SocketException)
        {
            length = 0;
            return false; // would block, or an ICMP error reported once
        }
    }
}
