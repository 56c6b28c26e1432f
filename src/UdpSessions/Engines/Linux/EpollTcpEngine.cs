using Microsoft.Extensions.Logging;
using UdpSessions.Engines.Tcp;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// TCP on the epoll engine: the listening socket is in every loop's epoll (EPOLLEXCLUSIVE), and each accepted
/// connection in the epoll of the loop that accepted it, which reads it, decodes its frames and runs its callbacks.
/// </summary>
internal sealed class EpollTcpEngine(SessionServerOptions options, SessionHandler handler, ILogger logger)
    : TcpEngine(options, handler, logger)
{
    private LinuxTcpListener? _listener;
    private EpollTcpLoop[] _loops = [];

    public override string Description => $"epoll, TCP {Options.Tcp.Framing}";

    public override IReadOnlyList<IoLoop> Loops => _loops;

    public LinuxTcpListener Listener => _listener ?? throw new InvalidOperationException("The engine is not started.");

    public override void Start()
    {
        _listener = LinuxTcpListener.Open(Options);
        LocalEndPoint = _listener.Local.ToIPEndPoint();
        try
        {
            _loops = new EpollTcpLoop[Options.IoThreads];
            for (int i = 0; i < _loops.Length; i++)
            {
                _loops[i] = new EpollTcpLoop(this, i);
            }
        }
        catch
        {
            ReleaseListener();
            throw;
        }

        foreach (EpollTcpLoop loop in _loops)
        {
            loop.Start();
        }
    }

    protected override void ReleaseListener()
    {
        foreach (EpollTcpLoop? loop in _loops)
        {
            loop?.Dispose();
        }

        _listener?.Dispose();
    }
}
