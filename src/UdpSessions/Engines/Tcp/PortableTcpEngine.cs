using Microsoft.Extensions.Logging;

namespace UdpSessions.Engines.Tcp;

/// <summary>The portable engine's TCP transport: .NET sockets, their completions handed to <see cref="SignalLoop"/>s.</summary>
internal sealed class PortableTcpEngine(SessionServerOptions options, SessionHandler handler, ILogger logger)
    : TcpEngine(options, handler, logger)
{
    private SocketTcpListener? _listener;
    private SignalLoop[] _loops = [];

    public override string Description => $"portable, TCP {Options.Tcp.Framing}";

    public override IReadOnlyList<IoLoop> Loops => _loops;

    public override void Start()
    {
        _listener = SocketTcpListener.Open(Options, Logger);
        LocalEndPoint = _listener.LocalEndPoint;
        _loops = new SignalLoop[Options.IoThreads];
        for (int i = 0; i < _loops.Length; i++)
        {
            _loops[i] = new SignalLoop(this, i);
        }

        foreach (SignalLoop loop in _loops)
        {
            loop.Start();
        }

        _listener.Start(this);
    }

    protected override void ReleaseListener()
    {
        _listener?.Dispose();
        foreach (SignalLoop loop in _loops)
        {
            loop.Dispose();
        }
    }
}
