using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using UdpSessions.Interop.Windows;
using UdpSessions.Internal;
using static UdpSessions.Interop.Windows.WindowsConstants;

namespace UdpSessions.Engines.Windows;

/// <summary>
/// The article's UDP "accept" on Windows: a socket with SO_REUSEADDR, bound to the listening address and connected to
/// the peer. Windows keeps delivering the peer's datagrams to the listener (the article, and Microsoft's description
/// of SO_REUSEADDR, which leaves the choice between sockets undefined), so the socket is certain to serve sends;
/// whatever does arrive on it (Wine, which follows Linux, routes the peer there) is read too.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed class SessionSocketFactory(WindowsListener listener, SessionServerOptions options)
{
    public IocpSessionSocket? Create(in PeerAddress peer, out int error)
    {
        bool ipv6 = listener.Local.IsIPv6;
        SafeWinSocketHandle? created = WindowsSocket.Create(ipv6, out error);
        if (created is null)
        {
            return null;
        }

        // WSASocketW's marshaller made a plain handle; move the SOCKET into the session's own handle type.
        var socket = new IocpSessionSocket();
        Marshal.InitHandle(socket, created.DangerousGetHandle());
        created.SetHandleAsInvalid();

        error = WindowsSocket.SetOption(socket, SOL_SOCKET, SO_REUSEADDR, 1);
        if (error == 0 && ipv6)
        {
            error = WindowsSocket.SetOption(socket, IPPROTO_IPV6, IPV6_V6ONLY, peer.IsV4Mapped ? 0 : 1);
        }

        if (error == 0)
        {
            error = WindowsSocket.SetBufferSizes(socket, options.SessionReceiveBufferSize, options.SendBufferSize);
        }

        if (error == 0)
        {
            error = WindowsSocket.Bind(socket, listener.Local);
        }

        if (error == 0)
        {
            error = WindowsSocket.Connect(socket, peer);
        }

        // Non-blocking sends: Session.Send promises not to block and to report a full buffer as false (see IocpEngine).
        if (error == 0)
        {
            error = WindowsSocket.SetNonBlocking(socket);
        }

        if (error == 0)
        {
            return socket;
        }

        socket.Dispose();
        return null;
    }
}
