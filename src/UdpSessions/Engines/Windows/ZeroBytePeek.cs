using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using UdpSessions.Interop.Windows;
using static UdpSessions.Interop.Windows.WindowsConstants;

namespace UdpSessions.Engines.Windows;

/// <summary>What became of a zero-byte peek and of its OVERLAPPED.</summary>
internal enum PeekResult
{
    /// <summary>Pending: the kernel holds the OVERLAPPED until its completion is dequeued.</summary>
    Pending,

    /// <summary>A datagram is waiting; no completion will come, the caller still holds the OVERLAPPED.</summary>
    Ready,

    /// <summary>A datagram is waiting, but a completion may or may not come: the OVERLAPPED was orphaned.</summary>
    ReadyBlockOrphaned,

    /// <summary>An error (in the out parameter); the OVERLAPPED was orphaned.</summary>
    Failed,

    /// <summary>The socket was closed before the call: the caller still holds the OVERLAPPED.</summary>
    SocketClosed,
}

/// <summary>Whether an overlapped receive that fails at once (WSAEMSGSIZE) on a skip-on-success socket still queues a completion.</summary>
internal enum ImmediateFailureMode
{
    NoCompletion,
    QueuesCompletion,
    Unknown,
}

/// <summary>
/// The article's readiness signal: an overlapped WSARecv of zero bytes with MSG_PEEK. It pins no buffer while it
/// waits and consumes nothing; it completes with STATUS_BUFFER_OVERFLOW (ERROR_MORE_DATA / WSAEMSGSIZE) once a
/// datagram is queued (with success for a zero-length one), and the datagram stays for a non-blocking WSARecvFrom.
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe class ZeroBytePeek
{
    public static PeekResult Post(SafeHandle socket, NativeOverlapped* block, OverlappedBlocks blocks, ImmediateFailureMode mode, out int error)
    {
        *block = default;
        WsaBuf empty = default;
        uint flags = MSG_PEEK;
        uint received;
        int result;
        try
        {
            result = WinSock.WSARecv(socket, &empty, 1, &received, &flags, block, 0);
        }
        catch (ObjectDisposedException)
        {
            error = 0;
            return PeekResult.SocketClosed;
        }

        error = result == 0 ? 0 : Marshal.GetLastPInvokeError();
        switch (error)
        {
            case 0:
                return PeekResult.Ready; // FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: nothing is queued for a success
            case WSA_IO_PENDING:
                return PeekResult.Pending;
            case WSAEMSGSIZE or ERROR_MORE_DATA:
                // A datagram was already queued. Windows reports STATUS_BUFFER_OVERFLOW, a warning, not an error, and
                // may queue a completion for it despite skip-on-success; Wine does not (measured by CompletionProbe).
                switch (mode)
                {
                    case ImmediateFailureMode.QueuesCompletion:
                        return PeekResult.Pending;
                    case ImmediateFailureMode.NoCompletion:
                        return PeekResult.Ready;
                    default:
                        blocks.Orphan(block);
                        return PeekResult.ReadyBlockOrphaned;
                }

            default:
                // Microsoft documents no completion for an operation that fails at once, but nothing here can prove
                // it for every error: the block is never reused, and freed when a completion turns up or at stop.
                blocks.Orphan(block);
                return PeekResult.Failed;
        }
    }
}
