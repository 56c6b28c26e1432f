using System.Net;
using System.Runtime.InteropServices;
using UdpSessions.Engines;
using UdpSessions.Internal;

namespace UdpSessions;

/// <summary>
/// One peer of a <see cref="SessionServer"/>, accepted on its first datagram the way a TCP listener accepts a
/// connection. Sending is thread-safe; callbacks for one session never run concurrently.
/// </summary>
public sealed partial class Session : IAsyncDisposable
{
    private static long s_nextId;
    // The state (low byte) and the close reason (above it) in one word, so that a reader never sees a closed session
    // without its reason: both change with one atomic write.
    private int _state;
    private IPEndPoint? _remoteEndPoint;
    private IPEndPoint? _localEndPoint;

    internal Session(IoLoop home, PeerAddress peer, PeerAddress local)
    {
        Id = Interlocked.Increment(ref s_nextId);
        Home = home;
        Peer = peer;
        Local = local;
        Key = home.Engine.KeyOf(peer, local);
        LastActivity = home.Now;
    }

    /// <summary>A number unique among all sessions of this process.</summary>
    public long Id { get; }

    /// <summary>The peer's address and port.</summary>
    public IPEndPoint RemoteEndPoint => _remoteEndPoint ??= Peer.ToIPEndPoint(); // made on first use: accepting stays cheap

    /// <summary>
    /// The server address the peer wrote to, which is also the source of every reply. (The portable engine on a
    /// wildcard listener reports the wildcard address; its replies take the source address the route picks.)
    /// </summary>
    public IPEndPoint LocalEndPoint => _localEndPoint ??= Local.ToIPEndPoint();

    /// <summary>A slot for the application's own per-session object.</summary>
    public object? UserState { get; set; }

    /// <summary>True while the session is open (no close has been requested).</summary>
    public bool IsOpen => Volatile.Read(ref _state) == (int)SessionState.Open;

    /// <summary>Why the session ended, or null while it is open.</summary>
    public SessionCloseReason? CloseReason => Volatile.Read(ref _state) is var state && state == (int)SessionState.Open ? null : ReasonOf(state);

    /// <summary>
    /// True when the session has a connected socket of its own; false when it is served through the listening socket
    /// (socket budget reached or fds exhausted). The API behaves the same either way.
    /// </summary>
    public bool HasOwnSocket => Socket is not null || Connection is not null;

    /// <summary>UDP or TCP. Everything else about a session (callbacks, async API, idle timeout, close reasons) is the same.</summary>
    public SessionTransport Transport => Connection is null ? SessionTransport.Udp : SessionTransport.Tcp;

    /// <summary>
    /// Sends one datagram to the peer without blocking. Returns false, and counts the datagram as dropped, when the
    /// socket's send buffer is full or the session is closed. Throws <see cref="ArgumentException"/> when the datagram
    /// is larger than a UDP datagram can be. Over TCP it sends one frame; it returns false (counted) when the session's
    /// send queue (<see cref="TcpOptions.SendQueueLimit"/>) has no room, and throws when the message is larger than
    /// <see cref="TcpOptions.MaxFrameSize"/>.
    /// </summary>
    public bool Send(ReadOnlySpan<byte> datagram) => Home.Engine.Send(this, datagram);

    /// <summary>
    /// Sends a run of datagrams to the peer without blocking: <paramref name="datagrams"/> holds them back to back, each
    /// <paramref name="segmentSize"/> bytes long except the last, which may be shorter. On Linux (epoll engine) up to 64
    /// of them go to the kernel as one buffer that it cuts into those datagrams (UDP generic segmentation offload,
    /// <c>UDP_SEGMENT</c>): one trip through the network stack instead of one per datagram. Elsewhere, through a DTLS
    /// layer, with <see cref="SessionServerOptions.SendSegmentation"/> off, or on a socket whose kernel refused it, they
    /// are sent one by one. The peer receives the same datagrams, in order, either way.
    /// </summary>
    /// <param name="datagrams">The datagrams, back to back; copied (or handed to the kernel) before the call returns.</param>
    /// <param name="segmentSize">The length of every datagram but the last. Keep it within the route's MTU (1,472 bytes
    /// over IPv4 Ethernet, 1,452 over IPv6): the kernel refuses a segment that does not fit, and the socket then sends
    /// separate (fragmented) datagrams from there on.</param>
    /// <returns>
    /// True when every datagram was sent (or queued for the I/O thread's next flush); false when some were refused
    /// (send buffer full, session closed), each counted as <see cref="Send"/> counts it.
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="segmentSize"/> is less than 1.</exception>
    /// <exception cref="ArgumentException"><paramref name="segmentSize"/> is larger than a UDP datagram can be.</exception>
    public bool SendBatch(ReadOnlySpan<byte> datagrams, int segmentSize) => Home.Engine.SendBatch(this, datagrams, segmentSize);

    /// <summary>Closes the session. Its <see cref="SessionHandler.OnSessionClosed"/> runs on its I/O thread soon after.</summary>
    public void Close()
    {
        if (IsOpen)
        {
            Layer?.OnApplicationClose(this);
        }

        RequestClose(SessionCloseReason.ClosedByApplication);
    }

    /// <summary>Closes the session.</summary>
    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override string ToString() => $"Session {Id} {RemoteEndPoint} -> {LocalEndPoint}";

    /// <summary>The client a balancer named in a PROXY header (ProxyProtocol/): what <see cref="RemoteEndPoint"/> reports from then on.</summary>
    internal void SetRemoteEndPoint(IPEndPoint endPoint) => _remoteEndPoint = endPoint;

    /// <summary>The I/O loop that owns this session: it alone reads for it and runs its callbacks.</summary>
    internal IoLoop Home { get; }

    internal PeerAddress Peer { get; private set; }

    internal PeerAddress Local { get; }

    /// <summary>The session's key in the address map.</summary>
    internal SessionKey Key { get; private set; }

    /// <summary>The peer's address in the engine's native form, for sends through the listener (sessions without a socket).</summary>
    internal object? PeerNativeAddress { get; set; }

    /// <summary>A protocol layered between the engine and the application (DTLS), or null.</summary>
    internal SessionLayer? Layer { get; set; }

    /// <summary>The TCP connection, or null for a UDP session.</summary>
    internal Engines.Tcp.TcpConnection? Connection { get; init; }

    /// <summary>The connected socket, or null when the session is served through the listener.</summary>
    internal SafeHandle? Socket { get; set; }

    /// <summary>Index in the engine's session table; with <see cref="Generation"/> it is what epoll's data carries.</summary>
    internal int Slot { get; set; } = -1;

    internal int Generation { get; set; }

    /// <summary>
    /// Until the first EAGAIN of a new session socket, datagrams that other peers sent in the bind-to-connect window
    /// can sit in its queue, so reads check the source. Nothing can be queued for another peer after that.
    /// </summary>
    internal bool SourceVerified { get; set; }

    internal long LastActivity { get; set; }

    /// <summary>
    /// Adaptive placement (EpollLoop.Placement.cs): the last listener batch that held a datagram of this session, how
    /// many of its datagrams shared a batch with another of its own in the current one-second window, and when that
    /// window started.
    /// </summary>
    internal long LastListenerBatch = -1;

    internal int QueuedInWindow;

    internal int ListenerDatagramsInWindow;

    internal bool PromotionRequested;

    internal long PromotionWindowStart;

    /// <summary>The session's own socket is in its loop's epoll (promoted sockets wait for the listener first).</summary>
    internal bool SocketRegistered { get; set; }

    /// <summary>
    /// A promoted socket is read once a grace period has passed since connect() (<see cref="PromotionSettled"/>) and its
    /// loop's listener has run dry since (or read this many datagrams).
    /// </summary>
    internal long ListenerEmptyMark { get; set; }

    internal bool PromotionSettled { get; set; }

    internal long ListenerReadMark { get; set; }

    // Intrusive links of the owning loop's timer wheel: no allocation and O(1) removal per session.
    internal Session? WheelNext { get; set; }

    internal Session? WheelPrev { get; set; }

    internal int WheelBucket { get; set; } = -1;

    /// <summary>Marks the session closing with <paramref name="reason"/> and asks its loop to tear it down. First reason wins.</summary>
    internal void RequestClose(SessionCloseReason reason)
    {
        if (Interlocked.CompareExchange(ref _state, Pack(SessionState.Closing, reason), (int)SessionState.Open) == (int)SessionState.Open)
        {
            Home.PostClose(this);
        }
    }

    /// <summary>Called by the home loop only. Returns false if the session was already torn down.</summary>
    internal bool MarkClosed(SessionCloseReason reasonIfOpen)
    {
        while (true)
        {
            int state = Volatile.Read(ref _state);
            if ((state & 0xFF) == (int)SessionState.Closed)
            {
                return false;
            }

            SessionCloseReason reason = state == (int)SessionState.Open ? reasonIfOpen : ReasonOf(state);
            if (Interlocked.CompareExchange(ref _state, Pack(SessionState.Closed, reason), state) == state)
            {
                return true;
            }
        }
    }

    /// <summary>True once its loop has torn the session down (not merely asked to).</summary>
    internal bool IsTornDown => (Volatile.Read(ref _state) & 0xFF) == (int)SessionState.Closed;

    /// <summary>The reason of a close that was requested (or done); meaningless while the session is open.</summary>
    internal SessionCloseReason PendingCloseReason => ReasonOf(Volatile.Read(ref _state));

    private static int Pack(SessionState state, SessionCloseReason reason) => (int)state | ((int)reason << 8);

    private static SessionCloseReason ReasonOf(int state) => (SessionCloseReason)(state >> 8);

    private enum SessionState
    {
        Open = 0,
        Closing = 1,
        Closed = 2,
    }
}
