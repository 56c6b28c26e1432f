using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// The UDP "accept": a socket bound to the listening port with SO_REUSEADDR (never SO_REUSEPORT, which would put it in
/// a group the kernel hashes across) and connected to the peer, after which the kernel routes that peer's datagrams
/// to it.
/// </summary>
internal sealed class SessionSocketFactory(LinuxListener listener, SessionServerOptions options)
{
    // Until connect() the new socket may take other peers' datagrams; if the thread is preempted in that window a
    // default-sized queue (~208 KiB) overflows and the kernel drops them. It borrows the listener's size meanwhile.
    private readonly int _windowReceiveBufferSize = Math.Max(options.ListenerReceiveBufferSize, options.SessionReceiveBufferSize);
    private readonly int _sessionReceiveBufferSize = options.SessionReceiveBufferSize > 0 ? options.SessionReceiveBufferSize : DefaultReceiveBufferSize() / 2; // the kernel doubles what it is given

    /// <summary>
    /// Creates the session's connected socket, or returns null with the errno of the step that failed.
    /// <paramref name="boundToWildcard"/> tells whether it is bound to the wildcard address (see below).
    /// </summary>
    public SafeFdHandle? Create(in PeerAddress peer, in PeerAddress local, out bool boundToWildcard, out int errno)
    {
        boundToWildcard = false;
        // Between bind() and connect() an unconnected socket on the port competes with the listener for every peer's
        // datagrams. Bound to the wildcard while the listener holds the specific address, it loses every such match
        // (the kernel prefers the more specific socket), so no stray lands on it. connect() then fixes its local
        // address from the route; if that is not the address the peer wrote to, redo it bound to that address and
        // let the stray check of the first read re-route what lands in the window.
        if (!listener.IsWildcard && !peer.IsV4Mapped)
        {
            SafeFdHandle? socket = CreateConnected(peer, local.ToAny(), out errno);
            if (socket is not null && LinuxSocket.GetLocalAddress(socket) == local)
            {
                boundToWildcard = true;
                return socket;
            }

            socket?.Dispose();
            if (socket is null && Errno.IsResourceExhaustion(errno))
            {
                return null;
            }
        }

        return CreateConnected(peer, local, out errno);
    }

    private SafeFdHandle? CreateConnected(in PeerAddress peer, in PeerAddress bindAddress, out int errno)
    {
        SafeFdHandle? socket = LinuxSocket.Create(listener.Local.IsIPv6, out errno);
        if (socket is null)
        {
            return null;
        }

        errno = LinuxSocket.SetOption(socket, SOL_SOCKET, SO_REUSEADDR, 1);
        if (errno == 0 && listener.Local.IsIPv6)
        {
            // A v6 socket bound to [::] would also match IPv4 traffic in its window unless it is v6-only.
            errno = LinuxSocket.SetOption(socket, IPPROTO_IPV6, IPV6_V6ONLY, peer.IsV4Mapped ? 0 : 1);
        }

        if (errno == 0)
        {
            errno = LinuxSocket.SetBufferSizes(socket, _windowReceiveBufferSize, options.SendBufferSize);
        }

        if (errno == 0)
        {
            errno = LinuxSocket.Bind(socket, bindAddress);
        }

        if (errno == 0)
        {
            errno = LinuxSocket.Connect(socket, peer);
        }


        if (errno == 0)
        {
            return socket;
        }

        socket.Dispose();
        return null;
    }

    /// <summary>
    /// Gives a session socket its own receive buffer size once the strays of its window have been read. Not earlier:
    /// shrinking a buffer below what is queued makes the kernel drop the peer's next datagrams.
    /// </summary>
    public void EndWindow(SafeFdHandle socket)
    {
        if (_windowReceiveBufferSize != _sessionReceiveBufferSize)
        {
            LinuxSocket.SetBufferSizes(socket, _sessionReceiveBufferSize, 0);
        }
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
