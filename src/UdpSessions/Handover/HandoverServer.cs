using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using UdpSessions.Engines.Linux;
using UdpSessions.Internal;

namespace UdpSessions.Handover;

/// <summary>
/// The running server's side: listens on the handover path, and when a successor asks, drains towards it (see
/// <see cref="EpollEngine.HandOverListenersAsync"/>) and passes it the listeners. One successor per server.
/// </summary>
internal sealed class HandoverServer : IDisposable
{
    private static readonly TimeSpan s_acknowledgementTimeout = TimeSpan.FromSeconds(30);

    private readonly Socket _listener;
    private readonly string _path;
    private readonly EpollEngine _engine;
    private readonly Func<Task> _handedOver;
    private readonly Thread _thread;
    private volatile bool _disposed;

    private HandoverServer(Socket listener, string path, EpollEngine engine, Func<Task> handedOver)
    {
        _listener = listener;
        _path = path;
        _engine = engine;
        _handedOver = handedOver;
        _thread = new Thread(Run) { IsBackground = true, Name = "udps-handover" };
    }

    /// <summary>True once a successor has the listeners.</summary>
    public bool HandedOver { get; private set; }

    /// <summary>
    /// Listens on <paramref name="path"/>: bound under a temporary name and renamed over it, so that a successor of
    /// the previous process, or a new one, never finds the path missing. <paramref name="handedOver"/> runs once a
    /// successor has acknowledged the listeners (the drain that follows).
    /// </summary>
    public static HandoverServer Start(string path, EpollEngine engine, Func<Task> handedOver)
    {
        string temporary = $"{path}.{Environment.ProcessId}";
        File.Delete(temporary);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(temporary));
            listener.Listen(4);
            File.Move(temporary, path, overwrite: true); // rename(2): atomic
        }
        catch
        {
            listener.Dispose();
            File.Delete(temporary);
            throw;
        }

        var server = new HandoverServer(listener, path, engine, handedOver);
        server._thread.Start();
        Log.AwaitingSuccessor(engine.Logger, path);
        return server;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _listener.Dispose();
        if (!HandedOver)
        {
            TryDeleteOwnPath();
        }
    }

    private void Run()
    {
        while (!_disposed)
        {
            Socket channel;
            try
            {
                channel = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            using (channel)
            {
                if (Serve(channel))
                {
                    return;
                }
            }
        }
    }

    /// <summary>One successor: true once it has the listeners.</summary>
    private bool Serve(Socket channel)
    {
        channel.ReceiveTimeout = (int)s_acknowledgementTimeout.TotalMilliseconds;
        Span<byte> request = stackalloc byte[HandoverWire.Request.Length];
        try
        {
            int read = 0;
            while (read < request.Length && channel.Receive(request[read..]) is var n && n > 0)
            {
                read += n;
            }

            if (read != request.Length || !request.SequenceEqual(HandoverWire.Request) || _engine.Draining || _engine.Stopping)
            {
                return false; // not a successor, or this server is leaving the port already: it binds as usual
            }
        }
        catch (SocketException)
        {
            return false;
        }

        ListenerHandover handover = _engine.HandOverListenersAsync().GetAwaiter().GetResult();
        try
        {
            HandoverWire.SendListeners(channel, handover);
            Span<byte> acknowledgement = stackalloc byte[1];
            if (channel.Receive(acknowledgement) != 1 || acknowledgement[0] != HandoverWire.Acknowledgement)
            {
                throw new IOException("The successor closed the handover socket without taking the listeners.");
            }
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            Log.HandoverFailed(_engine.Logger, _path, e);
            _engine.ReclaimAsync(handover).GetAwaiter().GetResult();
            return false;
        }

        HandedOver = true;
        _engine.ReleaseHandedOver();
        _listener.Dispose(); // the successor listens on the path now
        _ = _handedOver();
        return true;
    }

    private void TryDeleteOwnPath()
    {
        try
        {
            // Only our own socket: a successor may have renamed its own over the path.
            if (File.Exists(_path) && new FileInfo(_path).LinkTarget is null && IsOwnSocketFile())
            {
                File.Delete(_path);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private bool IsOwnSocketFile()
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(_path));
            return false; // someone listens there: a successor's
        }
        catch (SocketException)
        {
            return true; // nobody: ours, closed above
        }
    }
}
