using System.Runtime.InteropServices;

namespace UdpSessions.Cli.Interop.Linux;

/// <summary>Owns an epoll descriptor.</summary>
internal sealed class SafeEpollHandle : SafeHandle
{
    public SafeEpollHandle()
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == -1;

    public static SafeEpollHandle Create()
    {
        int fd = Libc.EpollCreate1(Libc.EpollCloexec);
        if (fd < 0)
        {
            throw new System.ComponentModel.Win32Exception(Marshal.GetLastPInvokeError(), "epoll_create1 failed");
        }

        var handle = new SafeEpollHandle();
        handle.SetHandle(fd);
        return handle;
    }

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}
