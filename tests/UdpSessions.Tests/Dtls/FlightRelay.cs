using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Tests.Dtls;

/// <summary>
/// A UDP relay between one DTLS client and the server that loses and reorders handshake datagrams on purpose (this
/// kernel has no netem). A policy sees every datagram with its direction and what it carries and decides: forward,
/// drop, or hold; held datagrams are released in reverse order once the sender has been quiet for a moment, which
/// turns a flight upside down. Bounded: it runs until disposed or for at most a minute.
/// </summary>
public sealed class FlightRelay : IDisposable
{
    private static readonly TimeSpan HoldQuiet = TimeSpan.FromMilliseconds(60);

    private readonly Socket _front = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Socket _back = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Func<RelayedDatagram, RelayAction> _policy;
    private readonly List<(bool ToClient, byte[] Data)> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private EndPoint? _client;
    private long _lastHeld;

    public FlightRelay(IPEndPoint server, Func<RelayedDatagram, RelayAction> policy)
    {
        _policy = policy;
        _front.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _back.Connect(server);
        _thread = new Thread(Run) { IsBackground = true, Name = "dtls-test-relay" };
        _thread.Start();
    }

    /// <summary>Where the client connects.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_front.LocalEndPoint!;

    public int Dropped { get; private set; }

    public int Reordered { get; private set; }

    /// <summary>The largest datagram the server sent through the relay.</summary>
    public int LargestFromServer { get; private set; }

    /// <summary>Every datagram seen, in order (for failure messages and checks).</summary>
    public List<string> Log { get; } = [];

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join(TimeSpan.FromSeconds(5));
        _front.Dispose();
        _back.Dispose();
        _stop.Dispose();
    }

    private void Run()
    {
        byte[] buffer = new byte[65_536];
        var deadline = Stopwatch.StartNew();
        var readable = new List<Socket>(2);
        while (!_stop.IsCancellationRequested && deadline.Elapsed < TimeSpan.FromMinutes(1))
        {
            readable.Clear();
            readable.Add(_front);
            readable.Add(_back);
            try
            {
                Socket.Select(readable, null, null, 10_000);
                foreach (Socket socket in readable)
                {
                    EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                    int length = socket == _front ? _front.ReceiveFrom(buffer, ref from) : _back.Receive(buffer);
                    if (socket == _front)
                    {
                        _client = from;
                    }

                    Handle(socket == _back, buffer.AsSpan(0, length).ToArray());
                }

                ReleaseHeldWhenQuiet();
            }
            catch (SocketException)
            {
                // ICMP errors after a peer closed: keep relaying
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    }

    private void Handle(bool toClient, byte[] data)
    {
        if (toClient)
        {
            LargestFromServer = Math.Max(LargestFromServer, data.Length);
        }

        var datagram = new RelayedDatagram(toClient, data);
        RelayAction action = _policy(datagram);
        lock (Log)
        {
            Log.Add($"{(toClient ? "S->C" : "C->S")} {datagram.Kind} {data.Length}B {action}");
        }

        switch (action)
        {
            case RelayAction.Drop:
                Dropped++;
                break;
            case RelayAction.Hold:
                _held.Add((toClient, data));
                _lastHeld = Environment.TickCount64;
                break;
            default:
                Forward(toClient, data);
                break;
        }
    }

    private void ReleaseHeldWhenQuiet()
    {
        if (_held.Count == 0 || Environment.TickCount64 - _lastHeld < HoldQuiet.TotalMilliseconds)
        {
            return;
        }

        Reordered += _held.Count > 1 ? 1 : 0;
        for (int i = _held.Count - 1; i >= 0; i--)
        {
            Forward(_held[i].ToClient, _held[i].Data);
        }

        _held.Clear();
    }

    private void Forward(bool toClient, byte[] data)
    {
        if (toClient)
        {
            if (_client is not null)
            {
                _front.SendTo(data, _client);
            }
        }
        else
        {
            _back.Send(data);
        }
    }
}

public enum RelayAction
{
    Forward,
    Drop,
    Hold,
}

/// <summary>A datagram passing the relay, with what its first record carries.</summary>
public sealed class RelayedDatagram(bool toClient, byte[] data)
{
    public bool ToClient { get; } = toClient;

    public byte[] Data { get; } = data;

    /// <summary>"hello_verify_request", "server_hello", "certificate", ..., "change_cipher_spec", "epoch1" or "other".</summary>
    public string Kind { get; } = Classify(data);

    public bool IsEpoch0Handshake => Data.Length > 13 && Data[0] == 22 && Data[3] == 0 && Data[4] == 0;

    private static string Classify(byte[] data)
    {
        if (data.Length < 13)
        {
            return "other";
        }

        int epoch = (data[3] << 8) | data[4];
        if (epoch == 1)
        {
            return "epoch1";
        }

        return data[0] switch
        {
            20 => "change_cipher_spec",
            22 when data.Length > 13 => data[13] switch
            {
                1 => "client_hello",
                2 => "server_hello",
                3 => "hello_verify_request",
                11 => "certificate",
                12 => "server_key_exchange",
                14 => "server_hello_done",
                16 => "client_key_exchange",
                _ => $"handshake_{data[13]}",
            },
            _ => "other",
        };
    }
}
