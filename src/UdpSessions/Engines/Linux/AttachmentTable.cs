namespace UdpSessions.Engines.Linux;

/// <summary>
/// One loop's attached sockets by slot, turned back into their <see cref="SocketAttachment"/> from the 64-bit epoll
/// data with two array reads and a generation check (as <see cref="Internal.SessionTable"/> does for sessions): a
/// stale event of a detached socket finds another generation, or an empty slot, and is ignored. Only the loop's own
/// thread touches it, so it needs no lock and may grow by reallocation.
/// </summary>
/// <remarks>
/// Tag layout: generation in the high 32 bits, <see cref="TagBit"/> plus the slot in the low 32. Session tags have
/// a slot below 2^31 (bit 31 clear), and the loops' own tags (listener, wake-up) are tested before this bit, so one
/// bit test tells an attachment from a session.
/// </remarks>
internal sealed class AttachmentTable
{
    /// <summary>Set in the low word of every attachment tag, never in a session's.</summary>
    public const ulong TagBit = 0x8000_0000UL;

    private const int MaxSlots = 1 << 30; // far below the loops' own tags (low word 0xFFFFFFFE/0xFFFFFFFF)

    private SocketAttachment?[] _entries = new SocketAttachment?[16];
    private int[] _generations = new int[16];
    private readonly Stack<int> _free = new();
    private int _used;

    /// <summary>Attachments in the table now.</summary>
    public int Count { get; private set; }

    /// <summary>Files an attachment and returns its epoll tag; false when the table is full.</summary>
    public bool TryAdd(SocketAttachment attachment, out ulong tag)
    {
        int slot;
        if (_free.Count > 0)
        {
            slot = _free.Pop();
        }
        else if (_used < MaxSlots)
        {
            slot = _used++;
            if (slot == _entries.Length)
            {
                Array.Resize(ref _entries, slot * 2);
                Array.Resize(ref _generations, slot * 2);
            }
        }
        else
        {
            tag = 0;
            return false;
        }

        _entries[slot] = attachment;
        attachment.Slot = slot;
        Count++;
        tag = TagOf(slot);
        return true;
    }

    /// <summary>Frees the attachment's slot; its generation moves on, so events still in flight for it are ignored.</summary>
    public void Remove(SocketAttachment attachment)
    {
        int slot = attachment.Slot;
        _entries[slot] = null;
        _generations[slot]++;
        _free.Push(slot);
        attachment.Slot = -1;
        Count--;
    }

    /// <summary>The attachment an epoll tag names, or null when it was detached since (or the tag is not one).</summary>
    public SocketAttachment? Find(ulong tag)
    {
        int slot = (int)(uint)(tag & ~TagBit & 0xFFFF_FFFFUL);
        return (uint)slot < (uint)_used && _generations[slot] == (int)(tag >> 32) ? _entries[slot] : null;
    }

    private ulong TagOf(int slot) => ((ulong)(uint)_generations[slot] << 32) | TagBit | (uint)slot;
}
