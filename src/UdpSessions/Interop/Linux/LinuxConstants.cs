namespace UdpSessions.Interop.Linux;

/// <summary>Values from the Linux UAPI headers (identical on x86-64 and arm64).</summary>
internal static class Errno
{
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EINVAL = 22;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int EDESTADDRREQ = 89;
    public const int EMSGSIZE = 90;
    public const int ENOBUFS = 105;
    public const int ENOPROTOOPT = 92;
    public const int EOPNOTSUPP = 95;
    public const int ECONNREFUSED = 111;
    public const int EPIPE = 32;
    public const int EPERM = 1;
    public const int ENOSYS = 38;
    public const int ECONNABORTED = 103;
    public const int ECONNRESET = 104;
    public const int ETIMEDOUT = 110;

    /// <summary>The errors that mean "no fd or memory for another socket now": serve the session without one.</summary>
    public static bool IsResourceExhaustion(int errno) => errno is EMFILE or ENFILE or ENOBUFS or ENOMEM;
}

internal static class SocketConstants
{
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_STREAM = 1;
    public const int IPPROTO_TCP = 6;
    public const int TCP_NODELAY = 1;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SO_REUSEADDR = 2;
    public const int SO_REUSEPORT = 15;
    public const int SO_RCVBUFFORCE = 33;
    public const int SO_ATTACH_REUSEPORT_CBPF = 51;
    public const int SO_SNDBUF = 7;
    public const int SO_RCVBUF = 8;
    public const int SO_TYPE = 3;
    public const int SO_DOMAIN = 39;
    public const int SCM_RIGHTS = 1;
    public const int F_GETFL = 3;
    public const int F_SETFL = 4;
    public const int O_NONBLOCK = 0x800;
    public const int IPPROTO_IP = 0;
    public const int IP_PKTINFO = 8;
    public const int IPPROTO_IPV6 = 41;
    public const int IPV6_V6ONLY = 26;
    public const int IPV6_RECVPKTINFO = 49;
    public const int IPV6_PKTINFO = 50;
    public const int SO_NO_CHECK = 11;
    public const int SOL_UDP = 17;
    public const int UDP_SEGMENT = 103;
    public const int UDP_GRO = 104;
    public const int MSG_PEEK = 0x2;
    public const int MSG_TRUNC = 0x20;
    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int MSG_WAITFORONE = 0x10000;
}

internal static class EpollConstants
{
    public const uint EPOLLIN = 0x001;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;
    public const uint EPOLLRDHUP = 0x2000;
    public const uint EPOLLEXCLUSIVE = 1u << 28;
    public const uint EPOLLONESHOT = 1u << 30;
    public const uint EPOLLET = 1u << 31;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;
    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;
    public const int EFD_CLOEXEC = 0x80000;
    public const short POLLOUT = 0x004;
}

/// <summary>Classic BPF opcodes (linux/filter.h, linux/bpf_common.h) and the ancillary offset of the network header.</summary>
internal static class BpfConstants
{
    public const ushort BPF_LD = 0x00;
    public const ushort BPF_LDX = 0x01;
    public const ushort BPF_ST = 0x02;
    public const ushort BPF_ALU = 0x04;
    public const ushort BPF_JMP = 0x05;
    public const ushort BPF_RET = 0x06;
    public const ushort BPF_MISC = 0x07;
    public const ushort BPF_W = 0x00;
    public const ushort BPF_H = 0x08;
    public const ushort BPF_B = 0x10;
    public const ushort BPF_ABS = 0x20;
    public const ushort BPF_IND = 0x40;
    public const ushort BPF_MEM = 0x60;
    public const ushort BPF_MSH = 0xa0;
    public const ushort BPF_MUL = 0x20;
    public const ushort BPF_RSH = 0x70;
    public const ushort BPF_MOD = 0x90;
    public const ushort BPF_XOR = 0xa0;
    public const ushort BPF_JEQ = 0x10;
    public const ushort BPF_K = 0x00;
    public const ushort BPF_X = 0x08;
    public const ushort BPF_A = 0x10;
    public const ushort BPF_TAX = 0x00;

    /// <summary>SKF_NET_OFF: loads relative to the network (IP) header instead of the data the program sees.</summary>
    public const int SKF_NET_OFF = -0x100000;
}

/// <summary>membarrier(2) commands and its syscall number on the architectures .NET runs on.</summary>
internal static class MembarrierConstants
{
    public const int MEMBARRIER_CMD_QUERY = 0;
    public const int MEMBARRIER_CMD_GLOBAL = 1;

    public static nint SyscallNumber => System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => 324,
        System.Runtime.InteropServices.Architecture.Arm64 or System.Runtime.InteropServices.Architecture.LoongArch64
            or System.Runtime.InteropServices.Architecture.RiscV64 => 283,
        _ => -1,
    };
}
