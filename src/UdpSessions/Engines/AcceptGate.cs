using UdpSessions.Internal;

namespace UdpSessions.Engines;

/// <summary>
/// What the first datagram of an unknown peer must pass before anything is created for it, cheapest check first:
/// the session limit, the application's <see cref="AcceptFilter"/>, then the new-session rate limits (after the filter,
/// so that rejected and challenged floods do not spend the rate of validated peers). A datagram that does not pass is
/// counted with its <see cref="DropReason"/>; nothing on this path allocates.
/// </summary>
internal sealed class AcceptGate(UdpEngine engine)
{
    [ThreadStatic]
    private static byte[]? t_challenge;

    private readonly AcceptFilter? _filter = engine.Options.AcceptFilter;
    private readonly ProxyProtocol.ProxyProtocolGate? _proxy = (engine.Handler as ProxyProtocol.ProxyProtocolHandler)?.Gate;
    private readonly NewSessionRateLimiter? _limiter = engine.Options.MaxNewSessionsPerSecond is not null || engine.Options.MaxNewSessionsPerSecondPerSource is not null
        ? new NewSessionRateLimiter(engine.Options, Environment.TickCount64)
        : null;

    private int _filterFailureLogged;

    /// <summary>True when a session may be created for <paramref name="peer"/>; otherwise the datagram is counted as dropped.</summary>
    public bool Admit(IoLoop loop, in PeerAddress peer, in PeerAddress local, ReadOnlySpan<byte> datagram)
    {
        // Checked again, race-free, when the session is added; this early check spares a full server the filter's work.
        if (engine.Registry.ActiveCount >= engine.Options.MaxSessions)
        {
            return Drop(loop, DropReason.SessionLimit);
        }

        if (_proxy is not null && !_proxy.Admits(peer, datagram))
        {
            return Drop(loop, DropReason.ProxyHeaderRejected); // a balancer's datagram without a header, or a header from anyone else
        }

        if (_filter is not null && !PassesFilter(loop, peer, local, datagram))
        {
            return false;
        }

        return _limiter?.TryAdmit(peer, loop.Now) is not DropReason reason || Drop(loop, reason);
    }

    private bool PassesFilter(IoLoop loop, in PeerAddress peer, in PeerAddress local, ReadOnlySpan<byte> datagram)
    {
        Span<byte> challenge = t_challenge ??= new byte[AcceptFilter.MaxChallengeLength];
        AcceptVerdict verdict;
        int length;
        try
        {
            verdict = _filter!.Evaluate(new PeerEndPoint(peer), datagram, challenge, out length);
        }
        catch (Exception exception)
        {
            loop.Counters.HandlerErrors++;
            if (Interlocked.Exchange(ref _filterFailureLogged, 1) == 0)
            {
                Log.AcceptFilterFailed(engine.Logger, exception); // once: a filter that throws would throw for every flood datagram
            }

            return Drop(loop, DropReason.AcceptFilterRejected);
        }

        switch (verdict)
        {
            case AcceptVerdict.Accept:
                return true;
            case AcceptVerdict.Challenge when length is > 0 and <= AcceptFilter.MaxChallengeLength:
                if (engine.SendFromListener(peer, local, challenge[..length]))
                {
                    loop.Counters.ChallengesSent++;
                }
                else
                {
                    loop.Counters.ChallengesNotSent++;
                }

                return Drop(loop, DropReason.Challenged);
            case AcceptVerdict.Challenge:
                loop.Counters.ChallengesNotSent++; // an empty or impossible challenge: nothing to send
                return Drop(loop, DropReason.Challenged);
            default:
                return Drop(loop, DropReason.AcceptFilterRejected);
        }
    }

    private static bool Drop(IoLoop loop, DropReason reason)
    {
        loop.Counters.Dropped[(int)reason]++;
        return false;
    }
}
