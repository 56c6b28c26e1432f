namespace UdpSessions.Engines;

/// <summary>
/// Work handed to a session's I/O loop through its command queue: socket completions that arrive on other threads
/// (the .NET Socket pump), and the application's <see cref="Session.Post(Action{Session})"/> and timers. Running it
/// on the loop keeps one session's callbacks serialized.
/// </summary>
internal interface ILoopWork
{
    /// <summary>Runs on the loop's thread (or on the stopping thread once the loop has ended).</summary>
    void Execute(IoLoop loop, Session session);
}
