using System.Net;
using System.Net.Sockets;
using UdpSessions.Dtls;

namespace UdpSessions.Cli.Load;

/// <summary>Opens client sessions with run-wide unique ids; shared by the workers, which open replacements in churn mode.</summary>
internal sealed class SessionFactory(LoadClientOptions options)
{
    // Churn binds explicit source ports below the kernel's usual ephemeral range (32768-60999).
    private const int FirstChurnPort = 10_000;
    private const int ChurnPorts = 22_768;
    private const int MaxBindAttempts = 1_000;

    private readonly bool _rotateLoopbackSources =
        options.Target.AddressFamily == AddressFamily.InterNetwork && IPAddress.IsLoopback(options.Target.Address);

    private int _nextIndex = -1;
    private int _nextSource = -1;

    public int Opened => Volatile.Read(ref _nextIndex) + 1;

    public ClientSession Open(long startAt)
    {
        var socket = new Socket(options.Target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        DtlsClient? dtls = null;
        try
        {
            if (options.Churn is not null)
            {
                BindUnusedSource(socket);
            }

            // Connecting binds a fresh source port if none is bound (one peer per session) and filters out datagrams from anyone else.
            socket.Connect(options.Target);
            dtls = options.Dtls is { } settings ? DtlsClient.Connect(socket, settings) : null; // blocking handshake
            socket.Blocking = false;
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        long limit = options.Churn is int quota ? quota : long.MaxValue;
        return new ClientSession(Interlocked.Increment(ref _nextIndex), socket, options.DatagramSize, options.Window, startAt, limit, dtls);
    }

    /// <summary>
    /// A replacement must look like a new peer. Left to the kernel, a closed session's port comes back within seconds
    /// (random choice among ~28k ports) and the server sees an old peer, not a new session; walking explicit ports,
    /// and on IPv4 loopback 127.0.0.2-251 as well, gives millions of distinct source addresses before any repeats.
    /// </summary>
    private void BindUnusedSource(Socket socket)
    {
        for (int attempt = 0; ; attempt++)
        {
            int n = Interlocked.Increment(ref _nextSource) & int.MaxValue;
            int port = FirstChurnPort + (n % ChurnPorts);
            IPAddress address = _rotateLoopbackSources
                ? new IPAddress([127, 0, 0, (byte)(2 + (n / ChurnPorts % 250))])
                : options.Target.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
            try
            {
                socket.Bind(new IPEndPoint(address, port));
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < MaxBindAttempts)
            {
                // Another process holds this port: take the next.
            }
        }
    }
}
