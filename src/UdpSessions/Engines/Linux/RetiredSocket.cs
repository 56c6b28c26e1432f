namespace UdpSessions.Engines.Linux;

/// <summary>A closed session's socket on its way out (see EpollLoop.Retirement.cs), and its peer's datagrams that arrived meanwhile.</summary>
internal sealed class RetiredSocket(Session session) : ILoopWork
{
    public Session Session { get; } = session;

    /// <summary>The peer's datagrams read elsewhere since the retirement, oldest first.</summary>
    public List<IoLoop.QueuedDatagram> Held { get; } = [];

    public bool Finished { get; set; }

    /// <summary>Runs on the socket's loop once the grace period is over.</summary>
    public void Execute(IoLoop loop, Session owner) => ((EpollLoop)loop).FinishRetirement(this);
}
