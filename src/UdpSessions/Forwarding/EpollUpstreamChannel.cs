using System.Runtime.InteropServices;
using UdpSessions.Engines.Linux;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;

namespace UdpSessions.Forwarding;

/// <summary>
/// The epoll engine's upstream socket of one client session: a non-blocking UDP socket attached to the session's own
/// I/O loop (<see cref="EpollLoop.TryAttach"/>), so a reply is read on the thread that owns the client session and is
/// handed to it with no lookup; the reply to the client joins that thread's send batch (sendmmsg).
/// </summary>
internal sealed unsafe class EpollUpstreamChannel : SocketAttachment, IUpstreamChannel
{
    // As for session sockets: a bounded read per readiness event keeps one flooding upstream from starving the others.
    private const int BatchesPerEvent = 2;
    private const int MaxDrainBatches = 64;

    private readonly ForwardedSession _owner;
    private readonly bool _connected;

    private EpollUpstreamChannel(ForwardedSession owner, bool connected)
    {
        _owner = owner;
        _connected = connected;
    }

    /// <summary>Opens, connects (or binds) and attaches the socket; null with the errno of the step that failed.</summary>
    public static EpollUpstreamChannel? TryOpen(ForwardedSession owner, Upstream? connectTo, bool ipv6, int receiveBufferSize, out int errno)
    {
        SafeFdHandle? socket = LinuxSocket.Create(ipv6, out errno);
        if (socket is null)
        {
            return null;
        }

        errno = LinuxSocket.SetBufferSizes(socket, receiveBufferSize, 0);
        if (errno == 0)
        {
            errno = connectTo is not null
                ? LinuxSocket.Connect(socket, connectTo.Address)
                : LinuxSocket.Bind(socket, PeerAddress.FromIPEndPoint(new(ipv6 ? System.Net.IPAddress.IPv6Any : System.Net.IPAddress.Any, 0)));
        }

        var channel = new EpollUpstreamChannel(owner, connectTo is not null);
        if (errno == 0 && ((EpollLoop)owner.Session.Home).TryAttach(owner.Session, socket, channel, out errno))
        {
            return channel;
        }

        socket.Dispose();
        return null;
    }

    public UpstreamSendResult Send(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, Upstream target, out int errno)
    {
        byte* name = stackalloc byte[PeerAddress.SockAddrV6Length];
        IoVec* iov = stackalloc IoVec[2];
        fixed (byte* head = header)
        fixed (byte* data = payload)
        {
            int count = 0;
            if (header.Length > 0)
            {
                iov[count++] = new IoVec { Base = head, Length = (nuint)header.Length };
            }

            iov[count++] = new IoVec { Base = data, Length = (nuint)payload.Length };
            MsgHdr message = new() { Iov = iov, IovLength = (nuint)count };
            if (!_connected)
            {
                message.Name = name;
                message.NameLength = (uint)target.Address.WriteLinuxSockAddr(new Span<byte>(name, PeerAddress.SockAddrV6Length));
            }

            nint sent = Libc.SendMsg(Socket!, &message, 0);
            errno = sent < 0 ? Marshal.GetLastPInvokeError() : 0;
        }

        return errno switch
        {
            0 => UpstreamSendResult.Sent,
            Errno.EAGAIN or Errno.ENOBUFS => UpstreamSendResult.WouldBlock,
            Errno.ECONNREFUSED => UpstreamSendResult.Refused,
            Errno.EMSGSIZE => UpstreamSendResult.TooLarge,
            _ => UpstreamSendResult.Failed,
        };
    }

    public void Close()
    {
        if (IsAttached)
        {
            ((EpollLoop)Session!.Home).Detach(this); // OnDetached reads what is left
        }
    }

    protected internal override void OnReadable(ReceiveBatch batch) => Read(batch, BatchesPerEvent);

    protected internal override void OnDetached(ReceiveBatch batch) => Read(batch, MaxDrainBatches);

    private void Read(ReceiveBatch batch, int batches)
    {
        for (int round = 0; round < batches; round++)
        {
            int received = batch.Receive(Socket!, batch.Capacity, out int errno);
            if (received < 0)
            {
                switch (errno)
                {
                    case Errno.EINTR:
                        continue;
                    case Errno.ECONNREFUSED:
                        _owner.OnUpstreamUnreachable(onLoop: true);
                        continue; // reported once, ahead of whatever is still queued
                    case Errno.EAGAIN:
                        return;
                    default:
                        _owner.OnUpstreamSocketError(errno);
                        return;
                }
            }

            for (int i = 0; i < received; i++)
            {
                _owner.OnResponse(batch.Data(i), batch.Length(i), _connected ? null : batch.Source(i), onLoop: true);
            }

            if (received < batch.Capacity)
            {
                return;
            }
        }
    }
}
