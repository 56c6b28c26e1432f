namespace UdpSessions.Bench;

/// <summary>Echoes every datagram on the callback path.</summary>
internal sealed class EchoHandler : SessionHandler
{
    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) => session.Send(datagram);
}
