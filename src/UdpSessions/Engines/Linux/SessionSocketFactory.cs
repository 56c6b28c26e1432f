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
    /// <summary>Creates the session's connected socket, or returns null with the errno of the step that failed.</summary>
    public SafeFdHandle? Create(in PeerAddress peer, in PeerAddress local, out int errno)
    {
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
            errno = LinuxSocket.SetBufferSizes(socket, options.SessionReceiveBufferSize, options.SendBufferSize);
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
}
