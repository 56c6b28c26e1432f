using System.Net.Sockets;

namespace UdpSessions.Cli.Load;

/// <summary>Opens client sessions with run-wide unique ids; shared by the workers, which open replacements in churn mode.</summary>
internal sealed class SessionFactory(LoadClientOptions options)
{
    private int _nextIndex = -1;

    public int Opened => Volatile.Read(ref _nextIndex) + 1;

    public ClientSession Open(long startAt)
    {
        var socket = new Socket(options.Target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Connecting binds a fresh source port (one peer per session) and filters out datagrams from anyone else.
            socket.Connect(options.Target);
            socket.Blocking = false;
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        long limit = options.Churn is int quota ? quota : long.MaxValue;
        return new ClientSession(Interlocked.Increment(ref _nextIndex), socket, options.DatagramSize, options.Window, startAt, limit);
    }
}
