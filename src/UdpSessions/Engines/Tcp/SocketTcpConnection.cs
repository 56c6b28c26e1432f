using System.Net.Sockets;
using UdpSessions.Internal;

namespace UdpSessions.Engines.Tcp;

/// <summary>
/// A TCP session on a .NET <see cref="Socket"/>, for any engine built on <see cref="IoLoop"/>: receives complete on
/// thread-pool threads and are handed to the session's loop (<see cref="IoLoop.Post"/>), which decodes and delivers
/// them, so callbacks stay serialized on the loop thread exactly as for UDP. The next receive starts only after the
/// loop has consumed the last one: one buffer per connection, and a slow loop slows its readers (TCP flow control)
/// instead of queueing without bound.
/// </summary>
// The semaphore is never disposed: a read handed to the loop may run after the session closed, and must release it.
#pragma warning disable CA1001
internal sealed class SocketTcpConnection : TcpConnection, ILoopWork
{
    private readonly Socket _socket;
    private readonly byte[] _receiveBuffer; // not pooled: an aborted receive may still be writing it as the socket closes
    private readonly SemaphoreSlim _consumed = new(0, 1);
    private bool _admitted;
    private int _received;
    private bool _pumping;

    public SocketTcpConnection(Socket socket, TcpOptions options)
        : base(options)
    {
        _socket = socket;
        _receiveBuffer = new byte[Math.Min(options.MaxFrameSize, 64 * 1024)];
    }

    /// <summary>First run: admit the session on its loop and start reading; afterwards: hand a completed read to the loop.</summary>
    public void Execute(IoLoop loop, Session session)
    {
        if (!_admitted)
        {
            _admitted = true;
            if (loop.Engine.Stopping || !loop.AdmitConnection(Session))
            {
                _socket.Dispose();
                return;
            }

            _ = ReceiveLoopAsync();
            return;
        }

        try
        {
            if (Session.IsOpen)
            {
                if (_received == 0)
                {
                    loop.EndOfStream(Session);
                }
                else
                {
                    loop.ReceiveStream(Session, _receiveBuffer.AsSpan(0, _received));
                }
            }
        }
        finally
        {
            _consumed.Release();
        }
    }

    protected override int WriteNow(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, out SendStatus failure)
    {
        failure = SendStatus.Sent;
        int written = 0;
        if (!header.IsEmpty)
        {
            written = _socket.Send(header, SocketFlags.None, out SocketError error);
            if (error != SocketError.Success || written < header.Length)
            {
                return Refused(error, written, out failure);
            }
        }

        int body = _socket.Send(payload, SocketFlags.None, out SocketError bodyError);
        return bodyError == SocketError.Success ? written + body : Refused(bodyError, written, out failure);
    }

    protected override void StartFlushing()
    {
        if (!_pumping)
        {
            _pumping = true;
            _ = SendLoopAsync();
        }
    }

    // A .NET socket's receive is a pending operation, not an epoll registration: nothing to stop, the loop ends at FIN.
    protected override void StopReading()
    {
    }

    protected override void CloseTransport() => _socket.Dispose();

    private int Refused(SocketError error, int written, out SendStatus failure)
    {
        failure = SendStatus.Sent;
        switch (error)
        {
            case SocketError.Success:
            case SocketError.WouldBlock:
                return written; // the rest is queued
            case SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown:
                Session.RequestClose(SessionCloseReason.PeerReset);
                failure = SendStatus.Closed;
                return -1;
            default:
                failure = SendStatus.Failed;
                return -1;
        }
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                int received = await _socket.ReceiveAsync(_receiveBuffer, SocketFlags.None).ConfigureAwait(false);
                _received = received;
                Session.Home.Post(Session, this);
                await _consumed.WaitAsync().ConfigureAwait(false);
                if (received == 0 || !Session.IsOpen)
                {
                    return;
                }
            }
        }
        catch (SocketException exception)
        {
            Session.RequestClose(IsReset(exception.SocketErrorCode) ? SessionCloseReason.PeerReset : SessionCloseReason.Error);
        }
        catch (ObjectDisposedException)
        {
            // The session closed the socket.
        }
    }

    private async Task SendLoopAsync()
    {
        try
        {
            while (true)
            {
                ReadOnlyMemory<byte> head;
                lock (Gate)
                {
                    if (Released || Queue.IsEmpty)
                    {
                        _pumping = false;
                        if (!Released)
                        {
                            Drained();
                        }

                        return;
                    }

                    head = Queue.Head;
                }

                int written = await _socket.SendAsync(head, SocketFlags.None).ConfigureAwait(false);
                lock (Gate)
                {
                    if (!Released)
                    {
                        Queue.Advance(written);
                    }
                }
            }
        }
        catch (SocketException exception)
        {
            lock (Gate)
            {
                _pumping = false;
            }

            Session.RequestClose(IsReset(exception.SocketErrorCode) ? SessionCloseReason.PeerReset : SessionCloseReason.Error);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static bool IsReset(SocketError error) =>
        error is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown or SocketError.OperationAborted;
}
#pragma warning restore CA1001
