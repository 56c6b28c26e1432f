namespace UdpSessions.Cli.Echo;

/// <summary>Sends every datagram straight back on the callback path, so the echo costs no allocation and no copy.</summary>
internal sealed class EchoHandler : SessionHandler
{
    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) => session.Send(datagram);
}
