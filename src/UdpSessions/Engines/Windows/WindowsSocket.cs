using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using UdpSessions.Interop.Windows;
using UdpSessions.Internal;
using static UdpSessions.Interop.Windows.WindowsConstants;

namespace UdpSessions.Engines.Windows;

/// <summary>Socket set-up calls with Winsock error results, shared by the listener, session sockets and the probes.</summary>
[SupportedOSPlatform("windows")]
internal static unsafe class WindowsSocket
{
    /// <summary>Room for a SOCKADDR_IN6, the larger of the two address structs.</summary>
    public const int SockAddrLength = PeerAddress.SockAddrV6Length;

    private static readonly Lazy<bool> s_started = new(() =>
    {
        byte* data = stackalloc byte[512]; // WSADATA is about 400 bytes on x64
        int error = WinSock.WSAStartup(0x0202, data);
        return error == 0 ? true : throw new SocketException(error);
    });

    /// <summary>Initializes Winsock for this process once (the runtime does too; the calls are counted, never undone here).</summary>
    public static void EnsureStarted() => _ = s_started.Value;

    /// <summary>An overlapped, non-inheritable UDP socket, or null with <paramref name="error"/> set.</summary>
    public static SafeWinSocketHandle? Create(bool ipv6, out int error)
    {
        SafeWinSocketHandle socket = WinSock.WSASocketW(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM, IPPROTO_UDP, null, 0,
            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
        if (socket.IsInvalid)
        {
            error = Marshal.GetLastPInvokeError();
            socket.SetHandleAsInvalid();
            return null;
        }

        error = 0;
        return socket;
    }

    public static int SetOption(SafeHandle socket, int level, int name, int value) =>
        WinSock.SetSockOpt(socket, level, name, (byte*)&value, sizeof(int)) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>FIONBIO: WSARecvFrom and send return WSAEWOULDBLOCK instead of waiting. Overlapped calls stay overlapped.</summary>
    public static int SetNonBlocking(SafeHandle socket)
    {
        uint on = 1;
        return WinSock.IoctlSocket(socket, FIONBIO, &on) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    public static int Bind(SafeHandle socket, in PeerAddress address)
    {
        byte* sockaddr = stackalloc byte[SockAddrLength];
        int length = WriteSockAddr(address, new Span<byte>(sockaddr, SockAddrLength));
        return WinSock.Bind(socket, sockaddr, length) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    public static int Connect(SafeHandle socket, in PeerAddress address)
    {
        byte* sockaddr = stackalloc byte[SockAddrLength];
        int length = WriteSockAddr(address, new Span<byte>(sockaddr, SockAddrLength));
        return WinSock.Connect(socket, sockaddr, length) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    public static PeerAddress GetLocalAddress(SafeHandle socket)
    {
        byte* sockaddr = stackalloc byte[128];
        int length = 128;
        if (WinSock.GetSockName(socket, sockaddr, &length) != 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        return ReadSockAddr(sockaddr);
    }

    /// <summary>Sets the buffer sizes that are configured (0 keeps the system default).</summary>
    public static int SetBufferSizes(SafeHandle socket, int receiveBufferSize, int sendBufferSize)
    {
        int error = receiveBufferSize > 0 ? SetOption(socket, SOL_SOCKET, SO_RCVBUF, receiveBufferSize) : 0;
        return error != 0 ? error : sendBufferSize > 0 ? SetOption(socket, SOL_SOCKET, SO_SNDBUF, sendBufferSize) : 0;
    }

    /// <summary>
    /// Writes a SOCKADDR_IN / SOCKADDR_IN6. The layout is Linux's (port at 2, address at 4 or 8, scope id at 24);
    /// only the family number of IPv6 differs (23, not 10).
    /// </summary>
    public static int WriteSockAddr(in PeerAddress address, Span<byte> destination)
    {
        int length = address.WriteLinuxSockAddr(destination);
        MemoryMarshal.Write(destination, (ushort)(address.IsIPv6 ? AF_INET6 : AF_INET));
        return length;
    }

    public static PeerAddress ReadSockAddr(byte* sockaddr)
    {
        Span<byte> copy = stackalloc byte[SockAddrLength];
        new ReadOnlySpan<byte>(sockaddr, SockAddrLength).CopyTo(copy);
        ushort family = MemoryMarshal.Read<ushort>(copy);
        MemoryMarshal.Write(copy, family == AF_INET6 ? PeerAddress.LinuxAfInet6 : PeerAddress.LinuxAfInet);
        return PeerAddress.FromLinuxSockAddr(copy);
    }

    /// <summary>Associates a socket with the completion port and skips the port for operations that succeed at once.</summary>
    public static int AttachToPort(SafeHandle socket, SafeHandle port, nuint key)
    {
        if (Kernel32.AssociateWithPort(socket, port, key, 0) == 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        return Kernel32.SetFileCompletionNotificationModes(socket, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE) != 0
            ? 0
            : Marshal.GetLastPInvokeError();
    }

    /// <summary>
    /// One non-blocking WSARecvFrom into <paramref name="buffer"/>. Returns the length read, or -1 with
    /// <paramref name="error"/> set (WSAEMSGSIZE: the datagram was larger than the buffer and is gone).
    /// </summary>
    public static int ReceiveFrom(SafeHandle socket, Span<byte> buffer, byte* sockaddr, out int error)
    {
        fixed (byte* data = buffer)
        {
            WsaBuf wsaBuf = new() { Length = (uint)buffer.Length, Buffer = data };
            uint received = 0;
            uint flags = 0;
            int addressLength = SockAddrLength;
            if (WinSock.WSARecvFrom(socket, &wsaBuf, 1, &received, &flags, sockaddr, &addressLength, null, 0) != 0)
            {
                error = Marshal.GetLastPInvokeError();
                return -1;
            }

            error = 0;
            return (int)received;
        }
    }

    public static void ThrowIfError(int error)
    {
        if (error != 0)
        {
            throw new SocketException(error);
        }
    }
}
