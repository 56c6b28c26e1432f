using System.Threading.Channels;

namespace UdpSessions.Internal;

/// <summary>
/// The handler behind the async API: accepted sessions go to a bounded backlog that <c>AcceptAsync</c> reads, and
/// each session's datagrams to its own bounded queue that <c>ReceiveAsync</c> reads.
/// </summary>
internal sealed class AsyncSessionHandler(int acceptBacklog, int receiveQueueCapacity) : SessionHandler
{
    private readonly Channel<Session> _accepted = Channel.CreateBounded<Session>(
        new BoundedChannelOptions(acceptBacklog) { FullMode = BoundedChannelFullMode.Wait });

    public ChannelReader<Session> Accepted => _accepted.Reader;

    public override void OnSessionAccepted(Session session)
    {
        session.ReceiveQueue = new SessionReceiveQueue(receiveQueueCapacity);
        if (!_accepted.Writer.TryWrite(session))
        {
            session.RequestClose(SessionCloseReason.LimitReached);
        }
    }

    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) => Deliver(session, datagram);

    internal override bool Deliver(Session session, ReadOnlySpan<byte> datagram) => session.ReceiveQueue!.TryEnqueue(datagram);

    public override void OnSessionClosed(Session session, SessionCloseReason reason) => session.ReceiveQueue?.Complete(reason);

    public void Complete() => _accepted.Writer.TryComplete();
}
