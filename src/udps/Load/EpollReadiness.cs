using System.Runtime.InteropServices;
using UdpSessions.Cli.Interop.Linux;

namespace UdpSessions.Cli.Load;

/// <summary>
/// Readiness through epoll: the cost of a wait follows the number of ready sockets, not the number watched, which is
/// what lets one generator thread drive thousands of sessions. Only synchronous non-blocking <see cref="System.Net.Sockets.Socket"/>
/// calls are made on these sockets, so the runtime's own epoll never sees them.
/// </summary>
internal sealed unsafe class EpollReadiness : Readiness
{
    private const int MaxEvents = 256;

    private readonly SafeEpollHandle _epoll = SafeEpollHandle.Create();
    private readonly byte* _events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * EpollEvent.Size));

    public override void Add(int slot, ClientSession session)
    {
        byte* e = stackalloc byte[16];
        EpollEvent.Write(e, Libc.EpollIn, (ulong)slot);
        Check(Libc.EpollCtl(_epoll, Libc.EpollCtlAdd, session.Socket.SafeHandle, e), "EPOLL_CTL_ADD");
    }

    public override void Remove(int slot, ClientSession session)
    {
        byte* e = stackalloc byte[16];
        EpollEvent.Write(e, 0, 0);
        Check(Libc.EpollCtl(_epoll, Libc.EpollCtlDel, session.Socket.SafeHandle, e), "EPOLL_CTL_DEL");
    }

    public override void Wait(List<int> readySlots, int timeoutMs)
    {
        int count = Libc.EpollWait(_epoll, _events, MaxEvents, timeoutMs);
        for (int i = 0; i < count; i++)
        {
            readySlots.Add((int)EpollEvent.ReadData(_events, i));
        }
    }

    public override void Dispose()
    {
        _epoll.Dispose();
        NativeMemory.Free(_events);
        base.Dispose();
    }

    private static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new System.ComponentModel.Win32Exception(Marshal.GetLastPInvokeError(), call + " failed");
        }
    }
}
