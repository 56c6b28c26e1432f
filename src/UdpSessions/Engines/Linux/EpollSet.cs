using System.Net.Sockets;
using System.Runtime.InteropServices;
using UdpSessions.Interop.Linux;
using static UdpSessions.Interop.Linux.EpollConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// One I/O thread's epoll instance and the eventfd that wakes it, shared by the UDP and TCP loops: creation, interest
/// changes, and a wake-up that costs one write() per batch of commands rather than one per command.
/// </summary>
internal sealed unsafe class EpollSet : IDisposable
{
    /// <summary>The event data of the wake-up eventfd.</summary>
    public const ulong WakeTag = ulong.MaxValue - 1;

    private readonly SafeFdHandle _epoll;
    private readonly SafeFdHandle _wake;
    private int _wakePending;

    public EpollSet()
    {
        int epoll = Libc.EpollCreate1(EPOLL_CLOEXEC);
        _epoll = epoll >= 0 ? new SafeFdHandle(epoll) : throw new SocketException(Marshal.GetLastPInvokeError());
        int wake = Libc.EventFd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (wake < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _epoll.Dispose();
            throw new SocketException(errno);
        }

        _wake = new SafeFdHandle(wake);
        Control(EPOLL_CTL_ADD, _wake, EPOLLIN, WakeTag);
    }

    /// <summary>epoll_wait: the number of events written to <paramref name="events"/>, or -1 with errno set.</summary>
    public int Wait(byte* events, int maxEvents, int timeoutMilliseconds) => Libc.EpollWait(_epoll, events, maxEvents, timeoutMilliseconds);

    /// <summary>Interrupts <see cref="Wait"/> (any thread); a no-op while an earlier wake-up is still unacknowledged.</summary>
    public void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            Libc.Write(_wake, &one, sizeof(ulong));
        }
    }

    /// <summary>Called by the loop on a <see cref="WakeTag"/> event, before it reads its command queue.</summary>
    public void AcknowledgeWake()
    {
        ulong value;
        Libc.Read(_wake, &value, sizeof(ulong));
        // A full fence, not a release write: otherwise this store can wait in the store buffer while the queue is
        // read, a producer still sees 1 and skips the eventfd, and its command sleeps unseen.
        Interlocked.Exchange(ref _wakePending, 0);
    }

    /// <summary>epoll_ctl ADD or MOD; throws <see cref="SocketException"/> when the kernel refuses.</summary>
    public void Control(int operation, SafeHandle socket, uint events, ulong data)
    {
        if (!TryControl(operation, socket, events, data, out int errno))
        {
            throw new SocketException(errno);
        }
    }

    public bool TryControl(int operation, SafeHandle socket, uint events, ulong data, out int errno)
    {
        byte* epollEvent = stackalloc byte[16];
        EpollEvent.Write(epollEvent, events, data);
        errno = Libc.EpollCtl(_epoll, operation, socket, epollEvent) == 0 ? 0 : Marshal.GetLastPInvokeError();
        return errno == 0;
    }

    public void Remove(SafeHandle socket)
    {
        byte* unused = stackalloc byte[16]; // kernels before 2.6.9 required an event even for EPOLL_CTL_DEL
        Libc.EpollCtl(_epoll, EPOLL_CTL_DEL, socket, unused);
    }

    public void Dispose()
    {
        _epoll.Dispose();
        _wake.Dispose();
    }
}
