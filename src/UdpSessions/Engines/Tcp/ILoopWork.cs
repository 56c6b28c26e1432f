namespace UdpSessions.Engines.Tcp;

/// <summary>
/// Work handed to a session's I/O loop through its command queue, for engines whose socket completions arrive on
/// other threads (the .NET Socket pump): running it on the loop keeps one session's callbacks serialized, as for UDP.
/// </summary>
internal interface ILoopWork
{
    /// <summary>Runs on the loop's thread (or on the stopping thread once the loop has ended).</summary>
    void Execute(IoLoop loop);
}
