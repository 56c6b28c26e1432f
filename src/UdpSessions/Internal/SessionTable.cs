namespace UdpSessions.Internal;

/// <summary>
/// Slot table that turns the 64-bit epoll data (slot, generation) back into a session with two array reads and no
/// lock. A stale event of a closed session finds another generation (or an empty slot) and is ignored, which a raw
/// object handle in the event data could not guarantee. Slots are only added and freed on the accept and close
/// paths, under a lock.
/// </summary>
internal sealed class SessionTable
{
    private const int ChunkShift = 12;
    private const int ChunkSize = 1 << ChunkShift;

    private readonly Session?[]?[] _chunks;
    private readonly Stack<int> _freeSlots = new();
    private readonly Lock _lock = new();
    private int _nextSlot;
    private int _nextGeneration;

    public SessionTable(int capacity) => _chunks = new Session?[]?[(capacity + ChunkSize - 1) >> ChunkShift];

    public void Add(Session session)
    {
        lock (_lock)
        {
            int slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : _nextSlot++;
            Session?[] chunk = _chunks[slot >> ChunkShift] ??= new Session?[ChunkSize];
            session.Slot = slot;
            session.Generation = ++_nextGeneration;
            Volatile.Write(ref chunk[slot & (ChunkSize - 1)], session);
        }
    }

    public void Remove(Session session)
    {
        lock (_lock)
        {
            int slot = session.Slot;
            if (slot < 0)
            {
                return;
            }

            Volatile.Write(ref _chunks[slot >> ChunkShift]![slot & (ChunkSize - 1)], null);
            _freeSlots.Push(slot);
            session.Slot = -1;
        }
    }

    public Session? Find(int slot, int generation)
    {
        Session?[]? chunk = (uint)(slot >> ChunkShift) < (uint)_chunks.Length ? Volatile.Read(ref _chunks[slot >> ChunkShift]) : null;
        Session? session = chunk is null ? null : Volatile.Read(ref chunk[slot & (ChunkSize - 1)]);
        return session is not null && session.Generation == generation ? session : null;
    }

    public static ulong ToEventData(Session session) => ((ulong)(uint)session.Generation << 32) | (uint)session.Slot;

    public static (int Slot, int Generation) FromEventData(ulong data) => ((int)(uint)data, (int)(data >> 32));
}
