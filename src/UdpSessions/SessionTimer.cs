using UdpSessions.Engines;

namespace UdpSessions;

/// <summary>
/// A timer on a session's I/O thread, made by <see cref="Session.Schedule(TimeSpan, Action{Session})"/>. Its callback
/// runs where the session's handler callbacks run, never concurrently with them, and never after the session closed.
/// </summary>
public sealed class SessionTimer : IDisposable
{
    private readonly Action<Session> _callback;
    private volatile bool _cancelled;

    internal SessionTimer(Session session, Action<Session> callback, long dueMilliseconds, long periodMilliseconds)
    {
        Session = session;
        _callback = callback;
        DueMilliseconds = dueMilliseconds;
        PeriodMilliseconds = periodMilliseconds;
    }

    /// <summary>The session the timer belongs to.</summary>
    public Session Session { get; }

    /// <summary>True until the timer is cancelled, has fired (one-shot), or its session has closed.</summary>
    public bool IsActive => !_cancelled && Session.IsOpen;

    /// <summary>
    /// Stops the timer; safe from any thread. A callback already running finishes; none starts afterwards when
    /// cancelled on the session's I/O thread (from another thread one callback may still be about to start).
    /// Returns false if the timer was no longer active.
    /// </summary>
    public bool Cancel()
    {
        bool wasActive = IsActive;
        _cancelled = true;
        return wasActive;
    }

    /// <summary>Cancels the timer.</summary>
    public void Dispose() => Cancel();

    /// <summary>When the timer is due next (Environment.TickCount64 milliseconds); set by the loop.</summary>
    internal long DueMilliseconds { get; set; }

    /// <summary>0 for a one-shot timer.</summary>
    internal long PeriodMilliseconds { get; }

    /// <summary>Runs the callback on the loop's thread; true when a periodic timer should be filed again.</summary>
    internal bool Fire(IoLoop loop)
    {
        if (!IsActive)
        {
            return false;
        }

        if (PeriodMilliseconds == 0)
        {
            _cancelled = true;
        }

        loop.RunApplicationCode(Session, nameof(Session.Schedule), static (session, callback) => callback(session), _callback);
        return PeriodMilliseconds > 0 && IsActive;
    }
}
