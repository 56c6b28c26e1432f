using System.Globalization;

namespace UdpSessions.Cli.Echo;

/// <summary>The closing summary of a server run, with every drop and close cause so nothing is hidden in a total.</summary>
internal static class StatisticsReport
{
    public static void Write(TextWriter writer, ServerStatistics s)
    {
        var c = CultureInfo.InvariantCulture;
        writer.WriteLine(string.Create(c, $"sessions: accepted={s.SessionsAccepted} closed={s.SessionsClosed} active={s.ActiveSessions} promoted={s.SessionsPromoted} withoutSocket={s.SessionsWithoutSocket}"));
        writer.WriteLine(string.Create(c, $"listener datagrams by thread: {string.Join(' ', s.ListenerDatagramsByThread)} (redirected between threads: {s.DatagramsRedirected})"));
        writer.WriteLine(string.Create(c, $"datagrams: received={s.DatagramsReceived} ({s.BytesReceived} B) delivered={s.DatagramsDelivered} sent={s.DatagramsSent} ({s.BytesSent} B)"));
        writer.WriteLine("receive drops: " + string.Join(' ', Enum.GetValues<DropReason>().Select(r => string.Create(c, $"{r}={s.GetDropped(r)}"))));
        writer.WriteLine(string.Create(c,
            $"send drops: bufferFull={s.SendsDroppedBufferFull} sessionClosed={s.SendsDroppedSessionClosed} failed={s.SendsFailed}"));
        writer.WriteLine("closes: " + string.Join(' ', Enum.GetValues<SessionCloseReason>().Select(r => string.Create(c, $"{r}={s.GetClosed(r)}"))));
        writer.WriteLine(string.Create(c,
            $"other: straysRerouted={s.StraysRerouted} listenerLate={s.ListenerLateDatagrams} handlerErrors={s.HandlerErrors} socketErrors={s.SocketErrors}"));
        writer.WriteLine(string.Create(c, $"challenges: sent={s.ChallengesSent} notSent={s.ChallengesNotSent}"));
        writer.WriteLine(string.Create(c,
            $"drain: keptOnOwnSocket={s.SessionsKeptForDrain} notKept={s.SessionsNotKept} handedOver={s.DatagramsHandedOver} takenOver={s.DatagramsTakenOver}"));
    }
}
