namespace UdpSessions;

/// <summary>What an <see cref="AcceptFilter"/> decides about the first datagram of an unknown peer.</summary>
public enum AcceptVerdict
{
    /// <summary>Go on: the rate limits and the session limit decide, then a session is created and the datagram delivered.</summary>
    Accept = 0,

    /// <summary>Drop the datagram (counted as <see cref="DropReason.AcceptFilterRejected"/>); nothing is created or sent.</summary>
    Reject,

    /// <summary>
    /// Drop the datagram (counted as <see cref="DropReason.Challenged"/>) and send the challenge the filter wrote
    /// from the listening socket; nothing is created. The peer is expected to answer with proof (a cookie).
    /// </summary>
    Challenge,
}
