using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace UdpSessions.Engines.Windows;

/// <summary>
/// The OVERLAPPED structs of the engine, in native memory (the kernel writes to them until the operation is done, so
/// they must not move and must outlive it). Rule: an OVERLAPPED belongs to whoever holds its completion (the kernel
/// while the operation pends, then the thread that dequeued it). That holder re-posts it or releases it, nobody
/// else. One whose operation ended in a way that leaves its completion in doubt is orphaned: never posted again,
/// released when its completion turns up, or at stop.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class OverlappedBlocks
{
    private readonly ConcurrentDictionary<nint, bool> _live = new(); // value: orphaned

    public int Count => _live.Count;

    /// <summary>Blocks not orphaned, i.e. whose completion is still expected or that a thread holds.</summary>
    public int Expected => _live.Count(pair => !pair.Value);

    public int Orphaned => _live.Count(pair => pair.Value);

    public NativeOverlapped* Allocate()
    {
        var block = (NativeOverlapped*)NativeMemory.AllocZeroed((nuint)sizeof(NativeOverlapped));
        _live[(nint)block] = false;
        return block;
    }

    public void Orphan(NativeOverlapped* block) => _live[(nint)block] = true;

    /// <summary>Frees a block once: a second release of the same pointer (which the rule above excludes) is a no-op.</summary>
    public void Release(NativeOverlapped* block)
    {
        if (_live.TryRemove((nint)block, out _))
        {
            NativeMemory.Free(block);
        }
    }

    /// <summary>At stop, after every socket is closed: orphans whose operations ended without a completion.</summary>
    public void ReleaseOrphans()
    {
        foreach (KeyValuePair<nint, bool> pair in _live)
        {
            if (pair.Value)
            {
                Release((NativeOverlapped*)pair.Key);
            }
        }
    }
}
