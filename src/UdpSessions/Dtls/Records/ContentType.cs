namespace UdpSessions.Dtls.Records;

/// <summary>TLS record content types (RFC 5246, RFC 9146).</summary>
internal static class ContentType
{
    public const byte ChangeCipherSpec = 20;
    public const byte Alert = 21;
    public const byte Handshake = 22;
    public const byte ApplicationData = 23;

    /// <summary>A record carrying a connection ID; its real type is inside the protected plaintext (RFC 9146).</summary>
    public const byte Tls12Cid = 25;
}

/// <summary>Handshake message types the server looks at without BouncyCastle.</summary>
internal static class HandshakeType
{
    public const byte ClientHello = 1;
    public const byte HelloVerifyRequest = 3;
}
