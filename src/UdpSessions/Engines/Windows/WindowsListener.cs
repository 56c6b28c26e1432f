using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using UdpSessions.Interop.Windows;
using UdpSessions.Internal;
using static UdpSessions.Interop.Windows.WindowsConstants;

namespace UdpSessions.Engines.Windows;

/// <summary>The well-known overlapped socket of the IOCP engine.</summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class WindowsListener : IDisposable
{
    private WindowsListener(SafeWinSocketHandle socket, PeerAddress local)
    {
        Socket = socket;
        Local = local;
    }

    public SafeWinSocketHandle Socket { get; }

    /// <summary>The bound address and the port actually bound (port 0 resolved).</summary>
    public PeerAddress Local { get; }

    public static WindowsListener Open(SessionServerOptions options)
    {
        bool ipv6 = options.EndPoint.AddressFamily == AddressFamily.InterNetworkV6;
        SafeWinSocketHandle socket = WindowsSocket.Create(ipv6, out int error) ?? throw new SocketException(error);
        try
        {
            PeerAddress address = PeerAddress.FromIPEndPoint(options.EndPoint);
            if (ipv6)
            {
                // [::] serves IPv4 too, as on Linux; Windows sockets are v6-only by default.
                WindowsSocket.ThrowIfError(WindowsSocket.SetOption(socket, IPPROTO_IPV6, IPV6_V6ONLY, address.IsAny ? 0 : 1));
            }

            WindowsSocket.ThrowIfError(WindowsSocket.SetBufferSizes(socket, options.ListenerReceiveBufferSize, options.SendBufferSize));

            // Bind before SO_REUSEADDR so that a port already in use fails here instead of being shared; the session
            // sockets that bind later carry the flag themselves (the article's step 3 sets it on the listener too).
            WindowsSocket.ThrowIfError(WindowsSocket.Bind(socket, address));
            WindowsSocket.ThrowIfError(WindowsSocket.SetOption(socket, SOL_SOCKET, SO_REUSEADDR, 1));

            // Otherwise an ICMP port unreachable caused by a reply to one peer fails the listener's next receive
            // with WSAECONNRESET, for every peer.
            uint off = 0;
            uint returned = 0;
            if (WinSock.WSAIoctl(socket, SIO_UDP_CONNRESET, &off, sizeof(uint), null, 0, &returned, null, 0) != 0)
            {
                throw new SocketException(Marshal.GetLastPInvokeError());
            }

            WindowsSocket.ThrowIfError(WindowsSocket.SetNonBlocking(socket));
            return new WindowsListener(socket, WindowsSocket.GetLocalAddress(socket));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private readonly Lock _sendLock = new();

    /// <summary>
    /// Sends to a peer that has no socket of its own. Returns the Winsock error, 0 on success. One sender at a time:
    /// under Wine a non-blocking send that overlaps another thread's send on the same socket fails with
    /// WSAEWOULDBLOCK although the buffer has room (measured: 3-30 of 640 echo replies with two I/O threads).
    /// </summary>
    public int SendTo(ReadOnlySpan<byte> datagram, byte[] peerSockAddr)
    {
        fixed (byte* data = datagram)
        fixed (byte* to = peerSockAddr)
        {
            lock (_sendLock)
            {
                return WinSock.SendTo(Socket, data, datagram.Length, 0, to, peerSockAddr.Length) >= 0 ? 0 : Marshal.GetLastPInvokeError();
            }
        }
    }

    public void Dispose() => Socket.Dispose();
}
