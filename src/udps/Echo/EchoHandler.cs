namespace UdpSessions.Cli.Echo;

/// <summary>
/// Sends every datagram straight back on the callback path, so the echo costs no allocation and no copy. With a tag
/// (<c>udps echo --tag</c>) every reply starts with it, so that a client can tell which server process answered
/// (handover and balancer tests); the reply is assembled in a per-thread buffer.
/// </summary>
internal sealed class EchoHandler(byte[]? tag = null) : SessionHandler
{
    // The largest UDP payload (65,535 - 8 over IPv6 without jumbograms): any datagram plus the tag fits, cut if not.
    private const int MaxUdpPayload = 65_527;

    [ThreadStatic]
    private static byte[]? t_reply;

    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
    {
        if (tag is null)
        {
            session.Send(datagram);
            return;
        }

        byte[] reply = t_reply ??= new byte[MaxUdpPayload];
        int length = Math.Min(tag.Length + datagram.Length, reply.Length);
        tag.CopyTo(reply, 0);
        datagram[..(length - tag.Length)].CopyTo(reply.AsSpan(tag.Length));
        session.Send(reply.AsSpan(0, length));
    }
}

