namespace UdpSessions;

/// <summary>
/// Decides on the first datagram of an unknown peer before anything exists for it: no session, no socket, no entry in
/// any table. Runs on an I/O thread, possibly on several at once (make it thread-safe), for every datagram of every
/// unknown source, so during a flood it runs once per flood datagram: keep it cheap and allocation-free. An exception
/// counts as <see cref="DropReason.AcceptFilterRejected"/> and in <see cref="ServerStatistics.HandlerErrors"/>.
/// </summary>
/// <remarks>
/// The filter runs after the session limit is checked and before the new-session rate limits, so datagrams it rejects
/// or challenges do not use up the rate of validated peers. A peer whose session closed is unknown again: its next
/// datagram passes the filter again.
/// </remarks>
public abstract class AcceptFilter
{
    /// <summary>The size of the challenge buffer handed to <see cref="Evaluate"/>: 1232 bytes, what fits the IPv6 minimum MTU.</summary>
    public const int MaxChallengeLength = 1232;

    /// <summary>
    /// Judges the first datagram of <paramref name="peer"/>. For <see cref="AcceptVerdict.Challenge"/>, write the reply
    /// into <paramref name="challenge"/> and set <paramref name="challengeLength"/>; it is sent from the listening
    /// socket. Never make a challenge larger than the datagram it answers: a spoofed source would turn the server into
    /// an amplifier (QUIC allows three times; the built-in <see cref="CookieAcceptFilter"/> stays at one).
    /// </summary>
    /// <param name="peer">The source address and port (unauthenticated until proven).</param>
    /// <param name="datagram">The datagram; valid only during the call.</param>
    /// <param name="challenge">Where a challenge reply is written, <see cref="MaxChallengeLength"/> bytes.</param>
    /// <param name="challengeLength">Bytes of <paramref name="challenge"/> to send (read only for a challenge).</param>
    public abstract AcceptVerdict Evaluate(PeerEndPoint peer, ReadOnlySpan<byte> datagram, Span<byte> challenge, out int challengeLength);
}
