using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using UdpSessions.Internal;

namespace UdpSessions.Engines.Tcp;

/// <summary>
/// Accepts TCP connections with a .NET <see cref="Socket"/> and spreads them over an engine's loops, round robin. It
/// only needs <see cref="IoLoop"/>, so any engine (portable, Windows) can serve TCP with it.
/// </summary>
internal sealed class SocketTcpListener : IDisposable
{
    private const int PauseMillisecondsOnError = 100;
    private readonly Socket _socket;
    private readonly TcpOptions _options;
    private readonly ILogger _logger;
    private UdpEngine? _engine;
    private int _next;

    private SocketTcpListener(Socket socket, SessionServerOptions options, ILogger logger)
    {
        _socket = socket;
        _options = options.Tcp;
        _logger = logger;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    /// <summary>Binds and listens on <see cref="SessionServerOptions.EndPoint"/>.</summary>
    public static SocketTcpListener Open(SessionServerOptions options, ILogger logger)
    {
        IPEndPoint endPoint = options.EndPoint;
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            // Restarting a server must not wait for the old connections' TIME_WAIT. Raw SO_REUSEADDR: .NET's
            // ReuseAddress also sets SO_REUSEPORT on Unix, which would let a second server share the port; on
            // Windows the option means taking over a port in use, so it stays off there.
            if (OperatingSystem.IsLinux())
            {
                socket.SetRawSocketOption(1, 2, BitConverter.GetBytes(1)); // SOL_SOCKET, SO_REUSEADDR
            }
            else if (!OperatingSystem.IsWindows())
            {
                socket.SetRawSocketOption(0xffff, 4, BitConverter.GetBytes(1)); // BSD values
            }

            socket.Bind(endPoint);
            socket.Listen(options.Tcp.ListenBacklog);
            return new SocketTcpListener(socket, options, logger);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Starts accepting; each connection becomes a session of one of the engine's loops.</summary>
    public void Start(UdpEngine engine)
    {
        _engine = engine;
        _ = AcceptLoopAsync();
    }

    public void Dispose() => _socket.Dispose();

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException exception) when (exception.SocketErrorCode == SocketError.OperationAborted)
            {
                return;
            }
            catch (SocketException exception)
            {
                // Typically EMFILE: accepting again at once would fail again at once.
                Log.AcceptFailed(_logger, exception.ErrorCode, PauseMillisecondsOnError);
                await Task.Delay(PauseMillisecondsOnError).ConfigureAwait(false);
                continue;
            }

            Admit(accepted);
        }
    }

    private void Admit(Socket accepted)
    {
        try
        {
            if (_engine!.Stopping)
            {
                accepted.Dispose(); // the loops are ending: nobody would admit it
                return;
            }

            accepted.NoDelay = _options.NoDelay;
            accepted.Blocking = false; // sends try the socket without blocking and queue what it refuses
            IReadOnlyList<IoLoop> loops = _engine.Loops;
            IoLoop home = loops[(int)((uint)Interlocked.Increment(ref _next) % (uint)loops.Count)];
            var connection = new SocketTcpConnection(accepted, _options);
            var session = new Session(
                home,
                PeerAddress.FromIPEndPoint((IPEndPoint)accepted.RemoteEndPoint!),
                PeerAddress.FromIPEndPoint((IPEndPoint)accepted.LocalEndPoint!))
            {
                Connection = connection,
            };
            connection.Session = session;
            home.Post(session, connection);
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            accepted.Dispose(); // the peer was already gone
        }
    }
}
