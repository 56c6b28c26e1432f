using UdpSessions.Engines.Tcp;
using UdpSessions.Internal;

namespace UdpSessions.Engines;

/// <summary>
/// The TCP half of the shared session logic: any engine whose loop derives from <see cref="IoLoop"/> serves TCP
/// sessions with these calls, whether it reads on the loop thread (epoll) or gets completions from elsewhere and
/// hands them over with <see cref="Post"/> (the .NET Socket pump, and the Windows engine).
/// </summary>
internal abstract partial class IoLoop
{
    /// <summary>
    /// Admits an accepted TCP connection as a session of this loop (on this loop's thread). False, and counted, when
    /// <see cref="SessionServerOptions.MaxSessions"/> are open (or the peer's previous connection from the same port is
    /// still being torn down); the caller then closes the connection.
    /// </summary>
    public bool AdmitConnection(Session session)
    {
        if (Engine.Registry.TryAdd(session, out _) != SessionRegistry.AddResult.Added)
        {
            Counters.ConnectionsRefused++;
            return false;
        }

        Counters.SessionsAccepted++;
        Wheel?.Schedule(session);
        try
        {
            Handler.OnSessionAccepted(session);
        }
        catch (Exception exception)
        {
            HandlerFailed(session, nameof(SessionHandler.OnSessionAccepted), exception);
        }

        ListIfOpen(session);
        return true;
    }

    /// <summary>Bytes read from a TCP session's stream (on this loop's thread): every complete frame is delivered, in order.</summary>
    public void ReceiveStream(Session session, ReadOnlySpan<byte> bytes)
    {
        FrameDecoder decoder = session.Connection!.Decoder;
        while (true)
        {
            switch (decoder.Next(ref bytes, out ReadOnlySpan<byte> frame))
            {
                case FrameResult.Frame:
                    Counters.DatagramsReceived++;
                    Counters.BytesReceived += frame.Length;
                    Deliver(session, frame, rerouteIfClosed: false);
                    break;
                case FrameResult.TooLarge:
                    Counters.DatagramsReceived++;
                    Counters.Dropped[(int)DropReason.Oversized]++;
                    Log.FrameTooLarge(Engine.Logger, session.Id, session.RemoteEndPoint, decoder.RejectedLength, session.Connection.Options.MaxFrameSize);
                    session.RequestClose(SessionCloseReason.FrameTooLarge);
                    return;
                default:
                    return;
            }
        }
    }

    /// <summary>The peer sent FIN (on this loop's thread). A frame it left unfinished is counted as dropped.</summary>
    public void EndOfStream(Session session)
    {
        if (session.Connection!.Decoder.HasPartialFrame)
        {
            Counters.DatagramsReceived++;
            Counters.Dropped[(int)DropReason.IncompleteFrame]++;
        }

        session.Connection.EndOfInput();
    }
}
