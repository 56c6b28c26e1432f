using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// The UDP "accept" of the article: a socket bound to the listening port and connected to the peer,
/// after which the kernel routes that peer's datagrams to it (on 6.13+ through its 4-tuple hash).
/// </summary>
/// <remarks>
/// The bind-to-connect window is where a new socket could take other peers' datagrams. The socket binds the
/// *wildcard* address of the port with SO_REUSEPORT, never a specific one, and connect() fixes its local address from
/// the route (if that is not the address the peer wrote to, the session stays on the listener, which can choose the
/// source of each reply):
/// <list type="bullet">
/// <item>A specific listener: a wildcard socket is only looked at when no socket of the specific address matches,
/// and the listener always does, so nothing lands on the new socket before connect() moves it to the specific address
/// with its 4-tuple. (Bound to the specific address itself it joined the listeners' group, and a race inside the
/// kernel's connect() let about one datagram in 30,000 promotions of a peer sharing the new peer's IP address land
/// on it; bound to the wildcard, none in 60,000.)</item>
/// <item>A wildcard listener: the socket joins the listeners' reuseport group, whose <see cref="SteeringProgram"/>
/// only ever picks a listener, until connect() moves it out (again none in 60,000). Only [::]: connect() moves the
/// socket from the wildcard chain the kernel scans for every new peer to the chain of its local address, and a
/// lookup standing on it at that instant follows it there and misses the listeners (answered with ICMP port
/// unreachable: about one datagram per 30,000 promotions under load, seen). IPv6 adds reuseport sockets behind the
/// listeners, so lookups have found a listener before they reach it; IPv4 adds them in front, so sessions of an
/// IPv4 wildcard listener stay on the listeners (EpollEngine.Start).</item>
/// <item>Linux joins a binding socket to the group of the first reuseport socket it finds on the same address and
/// port, newest first for IPv4. A connected session socket has left the listeners' group; were it still marked
/// SO_REUSEPORT, the next session socket would found a new group with it, outside the steering program, and could
/// take (or hand that connected socket) other peers' datagrams (seen: dozens per storm). So SO_REUSEPORT is cleared
/// once connected, and sockets are made one at a time per engine so that none binds while another is between
/// connect() and that clearing. Without SO_REUSEPORT a connected socket would make later binds fail; SO_REUSEADDR on
/// the session sockets (and only on them: the listeners never set it, so no other user can bind the port) keeps
/// them compatible.</item>
/// </list>
/// The first read still checks sources until the queue runs dry, and re-routes what is not from the peer.
/// </remarks>
internal sealed class SessionSocketFactory(ListenerGroup listeners, SessionServerOptions options)
{
    // Until the socket is read for the first time (after the listener's older datagrams of its peer), the peer's
    // datagrams wait in its queue; it borrows the listener's size meanwhile so that a busy peer does not overflow it.
    private readonly int _windowReceiveBufferSize = Math.Max(options.ListenerReceiveBufferSize, options.SessionReceiveBufferSize);
    private readonly int _sessionReceiveBufferSize = options.SessionReceiveBufferSize > 0 ? options.SessionReceiveBufferSize : DefaultReceiveBufferSize() / 2; // the kernel doubles what it is given
    private readonly Lock _oneAtATime = new();

    /// <summary>
    /// Creates the session's connected socket, or returns null: with the errno of the step that failed, or with
    /// errno 0 when the route would answer the peer from another address than the one it wrote to (then the session
    /// stays on the listener, which can choose the source of each reply).
    /// </summary>
    public SafeFdHandle? Create(in PeerAddress peer, in PeerAddress local, out int errno)
    {
        PeerAddress bound = listeners.Local;
        SafeFdHandle? socket = LinuxSocket.Create(bound.IsIPv6, out errno);
        if (socket is null)
        {
            return null;
        }

        lock (_oneAtATime)
        {
            errno = LinuxSocket.SetOption(socket, SOL_SOCKET, SO_REUSEADDR, 1);
            if (errno == 0)
            {
                errno = LinuxSocket.SetOption(socket, SOL_SOCKET, SO_REUSEPORT, 1);
            }

            if (errno == 0 && bound.IsIPv6)
            {
                errno = LinuxSocket.SetOption(socket, IPPROTO_IPV6, IPV6_V6ONLY, bound.IsAny ? 0 : 1); // as the listeners: [::] joins them
            }

            if (errno == 0)
            {
                errno = LinuxSocket.SetBufferSizes(socket, _windowReceiveBufferSize, options.SendBufferSize);
            }

            if (errno == 0)
            {
                errno = LinuxSocket.Bind(socket, bound.ToAny());
            }

            if (errno == 0)
            {
                errno = LinuxSocket.Connect(socket, peer);
            }

            if (errno == 0)
            {
                errno = LinuxSocket.SetOption(socket, SOL_SOCKET, SO_REUSEPORT, 0);
            }
        }

        if (errno == 0 && LinuxSocket.GetLocalAddress(socket) == local)
        {
            return socket;
        }

        socket.Dispose();
        return null;
    }

    /// <summary>
    /// Gives a session socket its own receive buffer size once its first read is done. Not earlier: shrinking a buffer
    /// below what is queued makes the kernel drop the peer's next datagrams.
    /// </summary>
    public void EndWindow(SafeFdHandle socket)
    {
        if (_windowReceiveBufferSize != _sessionReceiveBufferSize)
        {
            LinuxSocket.SetBufferSizes(socket, _sessionReceiveBufferSize, 0);
        }
    }

    /// <summary>
    /// Retires a closed session's socket: no send can leave it any more (a send racing the close fails with EPIPE),
    /// and it is re-connected to its own address, which no peer sends from, so the kernel stops queueing the peer's
    /// datagrams on it and hands them to the listener again, without an instant in which it matches every peer (as
    /// connect(AF_UNSPEC) would, or would leave a specific-bound socket winning the wildcard listener's traffic).
    /// </summary>
    public static void Retire(SafeFdHandle socket)
    {
        LinuxSocket.ShutdownWrite(socket);
        LinuxSocket.Connect(socket, LinuxSocket.GetLocalAddress(socket));
    }

    /// <summary>net.core.rmem_default, what a session socket gets when no size is configured.</summary>
    private static int DefaultReceiveBufferSize()
    {
        try
        {
            return int.Parse(File.ReadAllText("/proc/sys/net/core/rmem_default").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException)
        {
            return 212_992; // the kernel's built-in default
        }
    }
}
