namespace UdpSessions.Engines.Tcp;

/// <summary>
/// A loop that owns no socket: it sleeps until work is posted (or the next timer tick), then runs its commands and
/// timers. The portable engine's TCP sessions live on it; their socket completions arrive through <see cref="IoLoop.Post"/>.
/// </summary>
internal sealed class SignalLoop(UdpEngine engine, int index) : IoLoop(engine, index), IDisposable
{
    private readonly AutoResetEvent _signal = new(false);

    public override void Wake() => _signal.Set();

    public void Dispose() => _signal.Dispose();

    protected override void RunIo()
    {
        while (!Engine.Stopping)
        {
            _signal.WaitOne(WaitTimeoutMilliseconds());
            Now = Environment.TickCount64;
            RunCommands();
            AdvanceTimers();
        }
    }

    protected override void RegisterSocket(Session session)
    {
    }

    protected override void UnregisterSocket(Session session)
    {
    }
}
