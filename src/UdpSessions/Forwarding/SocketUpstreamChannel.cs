using System.Net;
using System.Net.Sockets;
using UdpSessions.Internal;

namespace UdpSessions.Forwarding;

/// <summary>
/// The upstream socket of a client session on engines without attachments (portable, IOCP): a .NET
/// <see cref="Socket"/> whose replies are read by an async loop on the thread pool and sent to the client from there
/// (<see cref="Session.Send"/> is thread-safe). Requests are sent from the session's I/O thread only, so one socket
/// never has two senders.
/// </summary>
internal sealed class SocketUpstreamChannel : IUpstreamChannel
{
    private const int ReceiveBufferBytes = 65_536; // any UDP datagram whole, so an oversized reply is seen and counted

    private readonly ForwardedSession _owner;
    private readonly Socket _socket;
    private readonly bool _connected;
    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(ReceiveBufferBytes);
    private byte[]? _withHeader;
    private int _closed;

    private SocketUpstreamChannel(ForwardedSession owner, Socket socket, bool connected)
    {
        _owner = owner;
        _socket = socket;
        _connected = connected;
    }

    public static SocketUpstreamChannel? TryOpen(ForwardedSession owner, Upstream? connectTo, bool ipv6, int receiveBufferSize, out int errno)
    {
        Socket socket;
        try
        {
            socket = new Socket(ipv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        }
        catch (SocketException exception)
        {
            errno = exception.NativeErrorCode;
            return null;
        }

        try
        {
            if (receiveBufferSize > 0)
            {
                socket.ReceiveBufferSize = receiveBufferSize;
            }

            if (connectTo is not null)
            {
                socket.Connect(connectTo.EndPoint);
            }
            else
            {
                socket.Bind(new IPEndPoint(ipv6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
            }

            socket.Blocking = false; // sends never wait: a full buffer is a counted drop, as on the epoll engine
        }
        catch (SocketException exception)
        {
            socket.Dispose();
            errno = exception.NativeErrorCode;
            return null;
        }

        var channel = new SocketUpstreamChannel(owner, socket, connectTo is not null);
        _ = channel.ReceiveAllAsync();
        errno = 0;
        return channel;
    }

    public UpstreamSendResult Send(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, Upstream target, out int errno)
    {
        ReadOnlySpan<byte> datagram = payload;
        if (header.Length > 0)
        {
            int length = header.Length + payload.Length;
            if (length > SessionServerOptions.MaxUdpPayload)
            {
                errno = 0;
                return UpstreamSendResult.TooLarge;
            }

            _withHeader = _withHeader is { } buffer && buffer.Length >= length ? buffer : new byte[Math.Max(length, 2048)];
            header.CopyTo(_withHeader);
            payload.CopyTo(_withHeader.AsSpan(header.Length));
            datagram = _withHeader.AsSpan(0, length);
        }

        SocketError error;
        try
        {
            if (_connected)
            {
                _socket.Send(datagram, SocketFlags.None, out error);
            }
            else
            {
                _socket.SendTo(datagram, SocketFlags.None, target.EndPoint);
                error = SocketError.Success;
            }
        }
        catch (SocketException exception)
        {
            error = exception.SocketErrorCode;
        }
        catch (ObjectDisposedException)
        {
            error = SocketError.Shutdown;
        }

        errno = error == SocketError.Success ? 0 : (int)error;
        return error switch
        {
            SocketError.Success => UpstreamSendResult.Sent,
            SocketError.WouldBlock or SocketError.NoBufferSpaceAvailable => UpstreamSendResult.WouldBlock,
            SocketError.ConnectionRefused or SocketError.ConnectionReset => UpstreamSendResult.Refused,
            SocketError.MessageSize => UpstreamSendResult.TooLarge,
            _ => UpstreamSendResult.Failed,
        };
    }

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        // What is still queued: read now (non-blocking) and handed over like any reply, so it is counted.
        byte[] drain = new byte[ReceiveBufferBytes];
        for (int i = 0; i < 4096; i++)
        {
            try
            {
                if (_socket.Available == 0)
                {
                    break;
                }

                EndPoint from = new IPEndPoint(_socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
                int length = _socket.ReceiveFrom(drain, ref from);
                _owner.OnResponse(drain.AsSpan(0, length), length, _connected ? null : PeerAddress.FromIPEndPoint((IPEndPoint)from), onLoop: false);
            }
            catch (SocketException)
            {
                continue; // an ICMP error reported ahead of data
            }
            catch (ObjectDisposedException)
            {
                break;
            }
        }

        _socket.Dispose();
    }

    private async Task ReceiveAllAsync()
    {
        SocketAddress? from = _connected ? null : new SocketAddress(_socket.AddressFamily);
        while (Volatile.Read(ref _closed) == 0)
        {
            int length;
            try
            {
                length = from is null
                    ? await _socket.ReceiveAsync(_buffer, SocketFlags.None).ConfigureAwait(false)
                    : await _socket.ReceiveFromAsync(_buffer, SocketFlags.None, from).ConfigureAwait(false);
            }
            catch (SocketException exception) when (exception.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
            {
                _owner.OnUpstreamUnreachable(onLoop: false);
                continue;
            }
            catch (SocketException exception) when (exception.SocketErrorCode == SocketError.MessageSize)
            {
                _owner.OnResponse([], ReceiveBufferBytes + 1, null, onLoop: false); // counted as oversized
                continue;
            }
            catch (Exception exception) when (exception is ObjectDisposedException or SocketException or OperationCanceledException)
            {
                if (Volatile.Read(ref _closed) == 0 && exception is SocketException socketException)
                {
                    _owner.OnUpstreamSocketError(socketException.NativeErrorCode);
                }

                return;
            }

            _owner.OnResponse(_buffer.AsSpan(0, length), length, from is null ? null : PeerAddress.FromSocketAddress(from), onLoop: false);
        }
    }
}
