using System.Runtime.InteropServices;
using UdpSessions.Engines.Tcp;
using UdpSessions.Interop.Linux;
using static UdpSessions.Interop.Linux.EpollConstants;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// A TCP session's socket on the epoll engine. Sends write straight to the socket (sendmsg of header and payload, no
/// copy); what the kernel refuses is queued and written on EPOLLOUT, which is asked for only while the queue is not
/// empty. The interest set changes under the connection's lock, so a sender and the loop never undo each other.
/// </summary>
internal sealed unsafe class EpollTcpConnection(SafeFdHandle socket, EpollTcpLoop loop, TcpOptions options) : TcpConnection(options)
{
    private uint _interest = EPOLLIN | EPOLLRDHUP;
    private bool _registered;

    public SafeFdHandle Socket { get; } = socket;

    public uint Interest => _interest;

    /// <summary>
    /// Adds the socket to its loop's epoll, after the session was admitted (its slot is the epoll data). Sends made in
    /// OnSessionAccepted may already have asked for EPOLLOUT: the registration takes the interest set as it is now.
    /// </summary>
    public bool Register(out int errno)
    {
        lock (Gate)
        {
            _registered = loop.TryRegister(Socket, _interest, Session, out errno);
            return _registered;
        }
    }

    /// <summary>EPOLLOUT, on the home loop: writes the queue until it is empty or the socket is full again.</summary>
    public void Flush()
    {
        lock (Gate)
        {
            while (!Released && !Queue.IsEmpty)
            {
                ReadOnlyMemory<byte> head = Queue.Head;
                nint written;
                fixed (byte* data = head.Span)
                {
                    written = Libc.Send(Socket, data, (nuint)head.Length, MSG_NOSIGNAL | MSG_DONTWAIT);
                }

                if (written < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }

                    if (errno != Errno.EAGAIN)
                    {
                        Session.RequestClose(CloseReasonOf(errno));
                    }

                    return; // EPOLLOUT stays asked for
                }

                Queue.Advance((int)written);
            }

            if (!Released)
            {
                SetInterest(_interest & ~EPOLLOUT);
                Drained();
            }
        }
    }

    protected override int WriteNow(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, out SendStatus failure)
    {
        failure = SendStatus.Sent;
        fixed (byte* headerData = header)
        fixed (byte* payloadData = payload)
        {
            IoVec* vectors = stackalloc IoVec[2];
            vectors[0] = new IoVec { Base = headerData, Length = (nuint)header.Length };
            vectors[1] = new IoVec { Base = payloadData, Length = (nuint)payload.Length };
            MsgHdr message = new() { Iov = header.IsEmpty ? vectors + 1 : vectors, IovLength = header.IsEmpty ? 1u : 2u };
            while (true)
            {
                nint written = Libc.SendMsg(Socket, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (written >= 0)
                {
                    return (int)written;
                }

                int errno = Marshal.GetLastPInvokeError();
                switch (errno)
                {
                    case Errno.EINTR:
                        continue;
                    case Errno.EAGAIN or Errno.ENOBUFS:
                        return 0;
                    case Errno.EPIPE or Errno.ECONNRESET or Errno.ETIMEDOUT:
                        Session.RequestClose(CloseReasonOf(errno));
                        failure = SendStatus.Closed;
                        return -1;
                    default:
                        failure = SendStatus.Failed;
                        return -1;
                }
            }
        }
    }

    protected override void StartFlushing() => SetInterest(_interest | EPOLLOUT);

    // Level-triggered: a socket at end of stream stays readable and would wake the loop on every wait.
    protected override void StopReading() => SetInterest(_interest & ~(EPOLLIN | EPOLLRDHUP));

    protected override void CloseTransport()
    {
        if (_registered)
        {
            loop.Unregister(Socket);
        }

        Socket.Dispose();
    }

    public static SessionCloseReason CloseReasonOf(int errno) =>
        errno is Errno.EPIPE or Errno.ECONNRESET or Errno.ETIMEDOUT ? SessionCloseReason.PeerReset : SessionCloseReason.Error;

    private void SetInterest(uint interest)
    {
        if (interest != _interest && !Released)
        {
            _interest = interest;
            if (_registered)
            {
                loop.Modify(Socket, interest, Session);
            }
        }
    }
}
