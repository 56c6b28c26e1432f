using UdpSessions.Dtls.Handshake;

namespace UdpSessions.Dtls;

/// <summary>
/// The stateless cookie exchange of DTLS (RFC 6347 4.2.1) as the server's accept filter: on the listener, before any
/// session, socket or handshake state exists for a peer, its first datagram must be a ClientHello carrying a cookie
/// made for its address; a ClientHello without one (or with a stale or forged one) is answered with a
/// HelloVerifyRequest from the listening socket, anything else is dropped. A valid ClientHello is refused while
/// <see cref="DtlsOptions.MaxConcurrentHandshakes"/> handshakes run. The application's own filter, if any, judges
/// first. Allocation-free; every refused datagram is counted in <see cref="DtlsStatistics"/>.
/// </summary>
internal sealed class DtlsAcceptFilter(DtlsSessionHandler server, AcceptFilter? application) : AcceptFilter
{
    public override AcceptVerdict Evaluate(PeerEndPoint peer, ReadOnlySpan<byte> datagram, Span<byte> challenge, out int challengeLength)
    {
        challengeLength = 0;
        if (application is not null)
        {
            AcceptVerdict verdict = application.Evaluate(peer, datagram, challenge, out challengeLength);
            if (verdict != AcceptVerdict.Accept)
            {
                return verdict;
            }
        }

        Internal.DtlsCounters counters = server.SharedCounters;
        if (!ClientHelloView.TryRead(datagram, out ClientHelloView hello))
        {
            counters.DropShared(DtlsDropReason.NotClientHello);
            return AcceptVerdict.Reject;
        }

        CookieCheck check = server.Settings.Cookies.Check(peer.Address, hello, out _);
        if (check == CookieCheck.Valid)
        {
            if (server.HandshakeSlotAvailable)
            {
                return AcceptVerdict.Accept;
            }

            counters.DropShared(DtlsDropReason.HandshakeLimit);
            return AcceptVerdict.Reject;
        }

        challengeLength = server.Settings.Cookies.WriteHelloVerifyRequest(peer.Address, hello, challenge);
        Interlocked.Increment(ref counters.HelloVerifyRequestsSent);
        counters.DropShared(check == CookieCheck.Missing ? DtlsDropReason.CookieMissing : DtlsDropReason.CookieInvalid);
        return AcceptVerdict.Challenge;
    }
}
