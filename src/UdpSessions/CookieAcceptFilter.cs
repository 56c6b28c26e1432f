namespace UdpSessions;

/// <summary>
/// The accept filter of a protocol that validates peers with a <see cref="StatelessCookie"/>: a first datagram that
/// begins with a valid cookie for its sender is accepted (delivered whole, cookie included, so the application skips
/// <see cref="StatelessCookie.Length"/> bytes); any other first datagram is answered with a fresh cookie and dropped.
/// The peer then sends its first datagram again, prefixed with the cookie. A spoofed source never sees the cookie and
/// never gets a session or a socket.
/// </summary>
/// <remarks>
/// Anti-amplification: datagrams shorter than the cookie are rejected without a reply, so a reply is never larger
/// than the datagram that caused it.
/// </remarks>
public sealed class CookieAcceptFilter(StatelessCookie cookie) : AcceptFilter
{
    /// <summary>The cookie maker (shared with the application if it also hands out cookies itself).</summary>
    public StatelessCookie Cookie { get; } = cookie ?? throw new ArgumentNullException(nameof(cookie));

    /// <inheritdoc />
    public override AcceptVerdict Evaluate(PeerEndPoint peer, ReadOnlySpan<byte> datagram, Span<byte> challenge, out int challengeLength)
    {
        challengeLength = 0;
        if (Cookie.Validate(peer, datagram))
        {
            return AcceptVerdict.Accept;
        }

        if (datagram.Length < StatelessCookie.Length)
        {
            return AcceptVerdict.Reject;
        }

        challengeLength = Cookie.Write(peer, challenge);
        return AcceptVerdict.Challenge;
    }
}
