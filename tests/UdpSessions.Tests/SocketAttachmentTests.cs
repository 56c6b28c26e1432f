using System.Net;
using System.Net.Sockets;
using UdpSessions.Engines.Linux;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// The epoll engine's attached sockets: an extra socket of a session, read on the session's own I/O thread when it is
/// readable, detached (its owner told, then the socket closed) explicitly or when the session closes.
/// </summary>
public class SocketAttachmentTests
{
    [Theory(Timeout = 30_000)]
    [InlineData(TestEngine.EpollAdaptive)]
    [InlineData(TestEngine.EpollOwnSocketOneShot)]
    public async Task An_attached_socket_is_read_on_its_sessions_thread_and_closed_with_the_session(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        var handler = new AttachingHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using var client = new ClientGroup(server.LocalEndPoint, 1);
        client.Send(0, "attach"u8);
        await Eventually.TrueAsync(() => handler.Attachment is not null, () => "no attachment", cancellationToken: timeout.Token);
        Probe probe = handler.Attachment!;

        // A datagram to the attached socket reaches its owner on the session's thread, which relays it to the client.
        using var outsider = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        outsider.SendTo("via the attachment"u8, probe.LocalEndPoint);
        Assert.Equal("via the attachment"u8.ToArray(), client.TryReceive(0, TimeSpan.FromSeconds(5)));
        Assert.True(probe.ReadOnSessionThread);

        // Data left on it when the session closes (sent by the handler just before it closes the session, so the loop
        // cannot have read it yet) is offered to the owner before the socket is closed.
        client.Send(0, "close"u8);
        await Eventually.TrueAsync(() => probe.Detached, () => "not detached", cancellationToken: timeout.Token);
        Assert.True(probe.Socket!.IsClosed);
        Assert.Equal(["left behind"], probe.ReadWhenDetached);
        Assert.Null(client.TryReceive(0, TimeSpan.FromMilliseconds(50)));
    }

    private sealed class AttachingHandler : SessionHandler
    {
        public volatile Probe? Attachment;

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            if (datagram.SequenceEqual("attach"u8))
            {
                var loop = (EpollLoop)session.Home;
                SafeFdHandle socket = LinuxSocket.Create(ipv6: false, out _)!;
                Assert.Equal(0, LinuxSocket.Bind(socket, PeerAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, 0))));
                var probe = new Probe(LinuxSocket.GetLocalAddress(socket).ToIPEndPoint());
                Assert.True(loop.TryAttach(session, socket, probe, out int errno), $"errno {errno}");
                Attachment = probe;
            }
            else if (datagram.SequenceEqual("close"u8))
            {
                using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                sender.SendTo("left behind"u8, Attachment!.LocalEndPoint);
                session.Close();
            }
        }
    }

    private sealed class Probe(IPEndPoint local) : SocketAttachment
    {
        public IPEndPoint LocalEndPoint { get; } = local;

        public volatile bool ReadOnSessionThread;
        public volatile bool Detached;
        public List<string> ReadWhenDetached { get; } = [];

        protected internal override void OnReadable(ReceiveBatch batch)
        {
            ReadOnSessionThread = Session!.Home.IsCurrentThread;
            int received = batch.Receive(Socket!, batch.Capacity, out _);
            for (int i = 0; i < received; i++)
            {
                Session.Send(batch.Data(i));
            }
        }

        protected internal override void OnDetached(ReceiveBatch batch)
        {
            int received = batch.Receive(Socket!, batch.Capacity, out _);
            for (int i = 0; i < received; i++)
            {
                ReadWhenDetached.Add(System.Text.Encoding.ASCII.GetString(batch.Data(i)));
            }

            Detached = true;
        }
    }
}
