namespace UdpSessions;

/// <summary>How the epoll engine registers its sockets. Both keep every session on one I/O thread.</summary>
public enum EpollMode
{
    /// <summary>
    /// Level-triggered; the listener is registered in every thread's epoll with <c>EPOLLEXCLUSIVE</c>, so a datagram
    /// for the listener wakes one thread instead of all of them (Linux 4.5+).
    /// </summary>
    LevelTriggered = 0,

    /// <summary>
    /// <c>EPOLLET | EPOLLONESHOT</c>: every socket is disarmed after each event and re-armed once it has been read.
    /// One extra <c>epoll_ctl</c> per wake-up; the model of kernels before 4.5.
    /// </summary>
    EdgeTriggeredOneShot,
}
