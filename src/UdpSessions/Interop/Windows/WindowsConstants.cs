namespace UdpSessions.Interop.Windows;

/// <summary>Winsock and Win32 constants used by the IOCP engine (values from the Windows SDK headers).</summary>
internal static class WindowsConstants
{
    public const int AF_INET = 2;
    public const int AF_INET6 = 23;
    public const int SOCK_DGRAM = 2;
    public const int IPPROTO_UDP = 17;
    public const int IPPROTO_IPV6 = 41;
    public const int SOL_SOCKET = 0xFFFF;
    public const int SO_REUSEADDR = 0x0004;
    public const int SO_SNDBUF = 0x1001;
    public const int SO_RCVBUF = 0x1002;
    public const int IPV6_V6ONLY = 27;

    public const uint WSA_FLAG_OVERLAPPED = 0x01;
    public const uint WSA_FLAG_NO_HANDLE_INHERIT = 0x80;

    public const uint MSG_PEEK = 0x2;
    public const int FIONBIO = unchecked((int)0x8004667E);
    public const int FIONREAD = 0x4004667F;

    public const uint SIO_UDP_CONNRESET = 0x9800000C;
    public const uint SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER = 0xC8000024;

    /// <summary>WSAID_MULTIPLE_RIO: asks SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER for the Registered I/O table.</summary>
    public static readonly Guid WSAID_MULTIPLE_RIO = new(0x8509e081, 0x96dd, 0x4005, 0xb1, 0x65, 0x9e, 0x2e, 0xe8, 0xc7, 0x9e, 0x3f);

    public const byte FILE_SKIP_COMPLETION_PORT_ON_SUCCESS = 0x1;
    public const byte FILE_SKIP_SET_EVENT_ON_HANDLE = 0x2;

    public const short POLLWRNORM = 0x0010;

    public const uint INFINITE = 0xFFFFFFFF;
    public const uint THREAD_SET_CONTEXT = 0x0010;

    public const int ERROR_MORE_DATA = 234;
    public const int WAIT_TIMEOUT = 258;
    public const int WAIT_IO_COMPLETION = 192;
    public const int WSA_IO_PENDING = 997;
    public const int WSAEINTR = 10004;
    public const int WSAEWOULDBLOCK = 10035;
    public const int WSAEMSGSIZE = 10040;
    public const int WSAENETUNREACH = 10051;
    public const int WSAENETRESET = 10052;
    public const int WSAECONNRESET = 10054;
    public const int WSAENOBUFS = 10055;
    public const int WSAEHOSTUNREACH = 10065;
    public const int WSAECONNREFUSED = 10061;
    public const int WSAEMFILE = 10024;

    // NTSTATUS values a completed OVERLAPPED carries in its Internal field.
    public const uint STATUS_SUCCESS = 0;
    public const uint STATUS_BUFFER_OVERFLOW = 0x80000005; // the zero-byte peek's "a datagram is there"
    public const uint STATUS_CANCELLED = 0xC0000120;
    public const uint STATUS_CONNECTION_RESET = 0xC000020D;
    public const uint STATUS_CONNECTION_REFUSED = 0xC0000236;
    public const uint STATUS_PORT_UNREACHABLE = 0xC000023F;
    public const uint STATUS_HOST_UNREACHABLE = 0xC000023D;
    public const uint STATUS_NETWORK_UNREACHABLE = 0xC000023C;
}
