using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>
/// N client sockets, each connected to one server address (so each is its own peer: own source port, and the kernel
/// drops anything not coming from the server address). Every datagram carries its client id and a sequence number,
/// so payloads differ per session and per message and a reply on the wrong socket is recognized.
/// Only Poll + Receive on ready sockets: nothing blocks without a bound.
/// </summary>
public sealed class ClientGroup : IDisposable
{
    private readonly Socket?[] _sockets;
    private readonly IPEndPoint[] _localEndPoints;
    private readonly byte[] _buffer = new byte[70_000];

    /// <param name="target">The server address every socket is connected to.</param>
    /// <param name="count">Number of sockets (peers).</param>
    /// <param name="idBase">Client id of socket 0; ids are idBase + index, keep them unique within a test.</param>
    public ClientGroup(IPEndPoint target, int count, int idBase = 0)
    {
        Target = target;
        IdBase = idBase;
        _sockets = new Socket?[count];
        _localEndPoints = new IPEndPoint[count];
        try
        {
            for (int i = 0; i < count; i++)
            {
                var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                _sockets[i] = socket;
                socket.Connect(target);
                _localEndPoints[i] = (IPEndPoint)socket.LocalEndPoint!;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public IPEndPoint Target { get; }

    public int IdBase { get; }

    public int Count => _sockets.Length;

    /// <summary>How long one reply may take before the test fails.</summary>
    public TimeSpan ReplyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Extra state (e.g. server counters) appended to failure messages.</summary>
    public Func<string>? Diagnostics { get; set; }

    public int ClientId(int index) => IdBase + index;

    public IPEndPoint LocalEndPoint(int index) => _localEndPoints[index];

    public bool IsOpen(int index) => _sockets[index] is not null;

    /// <summary>Maps each socket's local endpoint to its client id.</summary>
    public Dictionary<IPEndPoint, int> ClientIdsByEndPoint()
    {
        var map = new Dictionary<IPEndPoint, int>();
        for (int i = 0; i < Count; i++)
        {
            map[_localEndPoints[i]] = ClientId(i);
        }

        return map;
    }

    /// <summary>
    /// The datagram client <paramref name="clientId"/> sends as message <paramref name="sequence"/>: id and sequence
    /// (little-endian int32 each) and a filler derived from both, 8 to 64 bytes in all.
    /// </summary>
    public static byte[] Payload(int clientId, int sequence)
    {
        int length = 8 + (int)((uint)((clientId * 7919) + (sequence * 104_729)) % 57);
        byte[] payload = new byte[length];
        BinaryPrimitives.WriteInt32LittleEndian(payload, clientId);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(4), sequence);
        for (int k = 8; k < length; k++)
        {
            payload[k] = (byte)((clientId * 31) + (sequence * 17) + k);
        }

        return payload;
    }

    /// <summary>"client 12 seq 3 (37 bytes)" for a payload, or its length and first bytes if it is not one.</summary>
    public static string DescribePayload(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= 8
            ? $"client {BinaryPrimitives.ReadInt32LittleEndian(datagram)} seq {BinaryPrimitives.ReadInt32LittleEndian(datagram[4..])} ({datagram.Length} bytes)"
            : $"{datagram.Length} bytes [{Convert.ToHexString(datagram)}]";

    public void Send(int index, ReadOnlySpan<byte> datagram)
    {
        int sent = Socket(index).Send(datagram);
        Assert.Equal(datagram.Length, sent);
    }

    /// <summary>Sends message <paramref name="sequence"/> of client <paramref name="index"/>.</summary>
    public byte[] SendSequence(int index, int sequence)
    {
        byte[] payload = Payload(ClientId(index), sequence);
        Send(index, payload);
        return payload;
    }

    /// <summary>Receives one datagram on socket <paramref name="index"/> into a new array, or null after <paramref name="timeout"/>.</summary>
    public byte[]? TryReceive(int index, TimeSpan timeout)
    {
        Socket socket = Socket(index);
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            long left = deadline - Stopwatch.GetTimestamp();
            int waitMicroseconds = (int)Math.Clamp(left * 1_000_000 / Stopwatch.Frequency, 0, 100_000);
            if (socket.Poll(waitMicroseconds, SelectMode.SelectRead))
            {
                int length = socket.Receive(_buffer);
                return _buffer.AsSpan(0, length).ToArray();
            }

            if (left <= 0)
            {
                return null;
            }
        }
    }

    /// <summary>Receives one datagram on socket <paramref name="index"/> and checks it is exactly <paramref name="expected"/>.</summary>
    public void ExpectReply(int index, ReadOnlySpan<byte> expected)
    {
        byte[]? reply = TryReceive(index, ReplyTimeout);
        if (reply is null)
        {
            Assert.Fail($"client {ClientId(index)} ({LocalEndPoint(index)}) got no reply to {DescribePayload(expected)} " +
                $"within {ReplyTimeout.TotalSeconds} s. {Diagnostics?.Invoke()}");
        }

        if (!reply.AsSpan().SequenceEqual(expected))
        {
            int offset = reply.AsSpan().CommonPrefixLength(expected);
            Assert.Fail($"client {ClientId(index)} ({LocalEndPoint(index)}) expected {DescribePayload(expected)} " +
                $"but got {DescribePayload(reply)}, first difference at byte {offset}. {Diagnostics?.Invoke()}");
        }
    }

    /// <summary>
    /// Request/reply rounds over every open socket: in batches of <paramref name="batchSize"/> sockets, each sends its
    /// message <c>firstSequence + round</c>, then each must receive exactly that datagram back.
    /// </summary>
    /// <returns>Datagrams sent.</returns>
    public int EchoRounds(int firstSequence, int rounds, int batchSize, CancellationToken cancellationToken)
    {
        int sent = 0;
        for (int round = 0; round < rounds; round++)
        {
            int sequence = firstSequence + round;
            for (int start = 0; start < Count; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int end = Math.Min(Count, start + batchSize);
                for (int i = start; i < end; i++)
                {
                    if (IsOpen(i))
                    {
                        SendSequence(i, sequence);
                        sent++;
                    }
                }

                for (int i = start; i < end; i++)
                {
                    if (IsOpen(i))
                    {
                        ExpectReply(i, Payload(ClientId(i), sequence));
                    }
                }
            }
        }

        return sent;
    }

    /// <summary>Fails if any open socket has a datagram waiting (a duplicate, or a reply meant for someone else).</summary>
    public void AssertNothingPending(TimeSpan settle)
    {
        Thread.Sleep(settle);
        for (int i = 0; i < Count; i++)
        {
            if (_sockets[i] is { } socket && socket.Available > 0)
            {
                byte[]? extra = TryReceive(i, TimeSpan.Zero);
                Assert.Fail($"client {ClientId(i)} ({LocalEndPoint(i)}) has an unexpected datagram: " +
                    $"{(extra is null ? "?" : DescribePayload(extra))}. {Diagnostics?.Invoke()}");
            }
        }
    }

    /// <summary>Closes one client socket (its port becomes unreachable).</summary>
    public void Close(int index)
    {
        _sockets[index]?.Dispose();
        _sockets[index] = null;
    }

    public Socket Socket(int index) => _sockets[index] ?? throw new InvalidOperationException($"client {index} is closed");

    public void Dispose()
    {
        for (int i = 0; i < _sockets.Length; i++)
        {
            Close(i);
        }
    }
}
