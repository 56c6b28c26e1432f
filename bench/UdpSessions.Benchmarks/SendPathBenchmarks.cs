using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;

namespace UdpSessions.Benchmarks;

/// <summary>
/// <see cref="Session.Send"/> on a running epoll server against a raw <see cref="Socket.Send(ReadOnlySpan{byte})"/> on
/// a connected socket (the baseline): the library's overhead over the syscall. Both deliver to a loopback peer that does
/// not read, so the kernel drops what overflows its buffer; the send itself succeeds either way.
/// </summary>
[Config(typeof(BenchmarkConfig))]
public class SendPathBenchmarks
{
    private readonly byte[] _payload = new byte[64];
    private SessionServer _server = null!;
    private Session _session = null!;
    private Socket _peer = null!;
    private Socket _sink = null!;
    private Socket _raw = null!;

    [GlobalSetup]
    public void Setup()
    {
        var accepted = new TaskCompletionSource<Session>();
        _server = SessionServer.StartAsync(
            new SessionServerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), IdleTimeout = Timeout.InfiniteTimeSpan },
            new CapturingHandler(accepted)).AsTask().GetAwaiter().GetResult();
        _peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _peer.Connect(_server.LocalEndPoint);
        _peer.Send(_payload);
        _session = accepted.Task.WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();

        // A connected peer would refuse datagrams from another source (ICMP, then ECONNREFUSED): the raw send gets its own sink.
        _sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _raw = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _raw.Connect(_sink.LocalEndPoint!);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _peer.Dispose();
        _sink.Dispose();
        _raw.Dispose();
    }

    [Benchmark(Baseline = true)]
    public int RawConnectedSocketSend() => _raw.Send(_payload);

    [Benchmark]
    public bool SessionSend() => _session.Send(_payload);

    private sealed class CapturingHandler(TaskCompletionSource<Session> accepted) : SessionHandler
    {
        public override void OnSessionAccepted(Session session) => accepted.TrySetResult(session);

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
        }
    }
}
