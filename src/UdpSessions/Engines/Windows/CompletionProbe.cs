using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using UdpSessions.Interop.Windows;
using UdpSessions.Internal;
using static UdpSessions.Interop.Windows.WindowsConstants;

namespace UdpSessions.Engines.Windows;

/// <summary>
/// Measures, once per process, what the platform does when a zero-byte peek on a skip-on-success socket finds a
/// datagram already queued and fails at once with WSAEMSGSIZE: whether a completion is queued anyway. Microsoft's
/// documentation does not settle it for this warning status and Wine differs from what Windows is said to do; a
/// wrong guess means either a lost wake-up or an OVERLAPPED used twice. The probe is a loopback socket pair on a
/// private completion port; the operation completes inside the call, so a completion, if any, is already queued when
/// the call returns and a zero-timeout dequeue sees it.
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe class CompletionProbe
{
    private static readonly Lazy<ImmediateFailureMode> s_mode = new(Measure);

    public static ImmediateFailureMode Mode => s_mode.Value;

    private static ImmediateFailureMode Measure()
    {
        using SafeKernelHandle port = Kernel32.CreateIoCompletionPort(-1, 0, 0, 1);
        SafeWinSocketHandle? receiver = WindowsSocket.Create(ipv6: false, out _);
        SafeWinSocketHandle? sender = WindowsSocket.Create(ipv6: false, out _);
        var blocks = new OverlappedBlocks();
        NativeOverlapped* block = blocks.Allocate();
        ImmediateFailureMode mode = ImmediateFailureMode.Unknown;
        bool completionMayCome = false;
        try
        {
            if (port.IsInvalid || receiver is null || sender is null)
            {
                return mode;
            }

            PeerAddress loopback = PeerAddress.Create([127, 0, 0, 1], 0);
            if (WindowsSocket.Bind(receiver, loopback) != 0 || WindowsSocket.AttachToPort(receiver, port, 1) != 0)
            {
                return mode;
            }

            PeerAddress target = WindowsSocket.GetLocalAddress(receiver);
            if (!SendOne(sender, target) || !WaitQueued(receiver))
            {
                return mode;
            }

            PeekResult result = ZeroBytePeek.Post(receiver, block, blocks, ImmediateFailureMode.Unknown, out _);
            if (result != PeekResult.ReadyBlockOrphaned)
            {
                completionMayCome = result is PeekResult.Pending or PeekResult.Failed;
                return mode; // it did not fail at once: nothing learned
            }

            OverlappedEntry entry;
            uint removed = 0;
            bool dequeued = Kernel32.GetQueuedCompletionStatusEx(port, &entry, 1, &removed, 0, 0) != 0 && removed == 1;
            mode = dequeued ? ImmediateFailureMode.QueuesCompletion : ImmediateFailureMode.NoCompletion;
            return mode;
        }
        finally
        {
            receiver?.Dispose();
            sender?.Dispose();
            if (completionMayCome)
            {
                // Closing the socket cancels the operation; take its completion before the memory goes.
                OverlappedEntry entry;
                uint removed = 0;
                completionMayCome = !(Kernel32.GetQueuedCompletionStatusEx(port, &entry, 1, &removed, 1000, 0) != 0 && removed == 1);
            }

            if (!completionMayCome)
            {
                blocks.Release(block); // the completion was dequeued or never existed: the kernel is done with it
            }
        }
    }

    private static bool SendOne(SafeWinSocketHandle sender, in PeerAddress target)
    {
        byte* sockaddr = stackalloc byte[WindowsSocket.SockAddrLength];
        int length = WindowsSocket.WriteSockAddr(target, new Span<byte>(sockaddr, WindowsSocket.SockAddrLength));
        byte payload = 0x55;
        return WinSock.SendTo(sender, &payload, 1, 0, sockaddr, length) == 1;
    }

    private static bool WaitQueued(SafeWinSocketHandle receiver)
    {
        var clock = Stopwatch.StartNew();
        while (clock.ElapsedMilliseconds < 1000)
        {
            uint queued = 0;
            if (WinSock.IoctlSocket(receiver, FIONREAD, &queued) != 0)
            {
                return false;
            }

            if (queued > 0)
            {
                return true;
            }

            Thread.Sleep(1);
        }

        return false;
    }
}
