using UdpSessions.Engines;

namespace UdpSessions;

public sealed partial class Session
{
    /// <summary>
    /// Runs <paramref name="work"/> on this session's I/O thread, where its handler callbacks run and never
    /// concurrently with them, so state shared with the handler needs no lock. Safe from any thread. Work runs in the
    /// order it was posted, after the callback that posted it has returned; datagrams the I/O thread has already read
    /// may be delivered before it. Returns false (and the work never runs) when the session is closed; work still
    /// queued when the session closes is skipped.
    /// </summary>
    public bool Post(Action<Session> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return Post(static (session, action) => action(session), work);
    }

    /// <summary>Runs <paramref name="work"/> with <paramref name="state"/> on this session's I/O thread; see <see cref="Post(Action{Session})"/>.</summary>
    public bool Post<TState>(Action<Session, TState> work, TState state)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (!IsOpen)
        {
            return false;
        }

        Home.Post(this, new PostedWork<TState>(work, state));
        return true;
    }

    /// <summary>
    /// Calls <paramref name="callback"/> once on this session's I/O thread after <paramref name="dueTime"/>. The timer
    /// stops when the session closes. Precision: a millisecond on the epoll and IOCP engines, 20 ms on the portable one.
    /// </summary>
    public SessionTimer Schedule(TimeSpan dueTime, Action<Session> callback) => Schedule(dueTime, TimeSpan.Zero, callback);

    /// <summary>
    /// Calls <paramref name="callback"/> on this session's I/O thread after <paramref name="dueTime"/>, then every
    /// <paramref name="period"/> (measured from when each call was due, so a late call does not shift the next ones)
    /// until the timer is cancelled or the session closes. <see cref="TimeSpan.Zero"/> as period makes a one-shot timer.
    /// </summary>
    public SessionTimer Schedule(TimeSpan dueTime, TimeSpan period, Action<Session> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        ArgumentOutOfRangeException.ThrowIfLessThan(dueTime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(period, TimeSpan.Zero);
        if (period != TimeSpan.Zero && period < TimeSpan.FromMilliseconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(period), period, "A periodic timer needs a period of at least 1 ms.");
        }

        var timer = new SessionTimer(this, callback, Environment.TickCount64 + (long)Math.Ceiling(dueTime.TotalMilliseconds),
            (long)period.TotalMilliseconds);
        Home.AddTimer(timer);
        return timer;
    }

    private sealed class PostedWork<TState>(Action<Session, TState> work, TState state) : ILoopWork
    {
        public void Execute(IoLoop loop, Session session)
        {
            if (session.IsOpen)
            {
                loop.RunApplicationCode(session, nameof(Post), work, state);
            }
        }
    }
}
