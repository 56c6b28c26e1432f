namespace UdpSessions.Internal;

/// <summary>
/// The application's timers of one I/O loop (<see cref="Session.Schedule(TimeSpan, Action{Session})"/>), owned by
/// that loop's thread, so it needs no lock. A binary heap ordered by due time: O(log n) to file or fire a timer, and
/// the loop's wait ends exactly when the earliest is due. Cancelled timers are dropped lazily when they come up,
/// which keeps <see cref="SessionTimer.Cancel"/> lock-free and callable from any thread. (Idle timeouts, one per
/// session and re-armed by every datagram, stay on the cheaper <see cref="TimerWheel"/>.)
/// </summary>
internal sealed class LoopTimerQueue
{
    // Ordered by due time, then by filing order: timers due in the same millisecond fire in the order they were
    // filed (a heap alone is not stable).
    private readonly PriorityQueue<SessionTimer, (long Due, long Filed)> _heap = new();
    private long _filed;

    public int Count => _heap.Count;

    public void Add(SessionTimer timer) => _heap.Enqueue(timer, (timer.DueMilliseconds, _filed++));

    /// <summary>Milliseconds until the earliest timer is due (0 when overdue), or -1 when there is none.</summary>
    public int MillisecondsUntilNext(long nowMs) =>
        _heap.TryPeek(out _, out (long Due, long) next) ? (int)Math.Clamp(next.Due - nowMs, 0, int.MaxValue) : -1;

    /// <summary>Removes and returns the next timer due at or before <paramref name="nowMs"/>.</summary>
    public bool TryTakeDue(long nowMs, out SessionTimer timer)
    {
        if (_heap.TryPeek(out timer!, out (long Due, long) next) && next.Due <= nowMs)
        {
            _heap.Dequeue();
            return true;
        }

        return false;
    }
}
