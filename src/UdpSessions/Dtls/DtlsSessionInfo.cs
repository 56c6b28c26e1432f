namespace UdpSessions.Dtls;

/// <summary>What the DTLS handshake of a session established, on <see cref="Session.Dtls"/>.</summary>
public sealed class DtlsSessionInfo
{
    internal DtlsSessionInfo(DtlsCipherSuite cipherSuite, string? pskIdentity, byte[]? connectionId)
    {
        CipherSuite = cipherSuite;
        PskIdentity = pskIdentity;
        ConnectionId = connectionId ?? [];
    }

    /// <summary>The negotiated cipher suite.</summary>
    public DtlsCipherSuite CipherSuite { get; }

    /// <summary>The identity the peer authenticated with in a PSK suite (UTF-8), or null.</summary>
    public string? PskIdentity { get; }

    /// <summary>The connection ID (RFC 9146) the peer puts on its records, empty when none was negotiated.</summary>
    public ReadOnlyMemory<byte> ConnectionId { get; }

    /// <summary>How often the session moved to a new peer address by its connection ID.</summary>
    public int AddressChanges { get; internal set; }

    /// <summary>The description code of the alert the peer sent (0 for close_notify), or null if none arrived.</summary>
    public byte? ReceivedAlert { get; internal set; }
}
