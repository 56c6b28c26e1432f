using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using UdpSessions.Engines.Linux;
using UdpSessions.Internal;

namespace UdpSessions.Handover;

/// <summary>The successor's side: asks the server on the handover path for its listeners (see <see cref="HandoverWire"/>).</summary>
internal sealed class HandoverClient : IDisposable
{
    // Long enough for the predecessor to give thousands of sessions sockets of their own and read its listeners past them.
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private readonly Socket _channel;

    private HandoverClient(Socket channel, ListenerHandover listeners)
    {
        _channel = channel;
        Listeners = listeners;
    }

    public ListenerHandover Listeners { get; }

    /// <summary>The predecessor's listeners, or null when nobody listens on <paramref name="path"/> (then the server binds as usual).</summary>
    public static HandoverClient? TryTakeOver(string path)
    {
        var channel = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            ReceiveTimeout = (int)s_timeout.TotalMilliseconds,
            SendTimeout = (int)s_timeout.TotalMilliseconds,
        };
        try
        {
            channel.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported
            || e.NativeErrorCode is 2 /* ENOENT */ or 111 /* ECONNREFUSED */)
        {
            channel.Dispose();
            return null; // no predecessor (a path left behind by a process that died is refused)
        }

        try
        {
            channel.Send(HandoverWire.Request);
            return new HandoverClient(channel, HandoverWire.ReceiveListeners(channel));
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
        {
            channel.Dispose();
            throw new IOException($"Taking over the listeners from the process on {path} failed: {e.Message}", e);
        }
    }

    /// <summary>The listeners are served here now: the predecessor closes its copies and drains.</summary>
    public void Acknowledge(ILogger logger, string path, System.Net.IPEndPoint endPoint)
    {
        _channel.Send([HandoverWire.Acknowledgement]);
        Log.TookOver(logger, Listeners.Sockets.Count, endPoint, Listeners.Backlog.Sum(backlog => backlog.Count), path);
    }

    public void Dispose() => _channel.Dispose();
}
