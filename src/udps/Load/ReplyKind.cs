namespace UdpSessions.Cli.Load;

/// <summary>What a received datagram turned out to be.</summary>
internal enum ReplyKind
{
    /// <summary>The first answer to a request in flight.</summary>
    Answered,

    /// <summary>The first answer to a request that had already expired (and been counted lost).</summary>
    Late,

    /// <summary>Wrong length, payload not matching its header, or a header no request of this session had.</summary>
    Corrupt,

    /// <summary>An intact reply to another client session: the server sent it to the wrong peer.</summary>
    WrongSession,

    /// <summary>A second answer to a request already answered.</summary>
    Duplicate,
}
