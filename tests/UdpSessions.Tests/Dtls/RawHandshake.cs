using System.Buffers.Binary;
using System.Net.Sockets;

namespace UdpSessions.Tests.Dtls;

/// <summary>
/// Hand-made DTLS 1.2 ClientHellos for tests that play a peer without a DTLS library: the first one (no cookie),
/// the second one carrying the cookie of a HelloVerifyRequest, and a peer that stops there.
/// </summary>
public static class RawHandshake
{
    /// <summary>A ClientHello record offering PSK-AES128-CCM8, with <paramref name="cookie"/> (may be empty).</summary>
    public static byte[] ClientHello(ReadOnlySpan<byte> cookie, int messageSequence = 0, long recordSequence = 0, byte randomSeed = 1)
    {
        var body = new List<byte> { 0xFE, 0xFD };
        body.AddRange(Enumerable.Range(0, 32).Select(i => (byte)(randomSeed + i)));
        body.Add(0); // session id
        body.Add((byte)cookie.Length);
        body.AddRange(cookie.ToArray());
        body.AddRange(new byte[] { 0, 4, 0xC0, 0xA8, 0x00, 0xFF }); // TLS_PSK_WITH_AES_128_CCM_8, the renegotiation SCSV (RFC 5746)
        body.AddRange(new byte[] { 1, 0 }); // compression: null
        byte[] message = new byte[12 + body.Count];
        message[0] = 1; // client_hello
        WriteUInt24(message.AsSpan(1), body.Count);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), (ushort)messageSequence);
        WriteUInt24(message.AsSpan(9), body.Count);
        body.CopyTo(message, 12);
        byte[] record = new byte[13 + message.Length];
        record[0] = 22; // handshake
        record[1] = 0xFE;
        record[2] = 0xFD;
        BinaryPrimitives.WriteUInt64BigEndian(record.AsSpan(3), (ulong)recordSequence); // epoch 0
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(11), (ushort)message.Length);
        message.CopyTo(record, 13);
        return record;
    }

    /// <summary>The cookie of a HelloVerifyRequest record, or null if <paramref name="datagram"/> is not one.</summary>
    public static byte[]? CookieOf(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < 13 + 12 + 3 || datagram[0] != 22 || datagram[13] != 3)
        {
            return null;
        }

        int length = datagram[13 + 12 + 2];
        return datagram.Length < 13 + 12 + 3 + length ? null : datagram.Slice(13 + 12 + 3, length).ToArray();
    }

    /// <summary>Runs the cookie exchange on a connected socket and sends the ClientHello with the cookie; returns the cookie.</summary>
    public static byte[] SendHelloWithCookie(Socket socket, byte randomSeed = 1)
    {
        socket.Send(ClientHello([], randomSeed: randomSeed));
        byte[] reply = new byte[2048];
        Assert.True(socket.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead), "no HelloVerifyRequest");
        int length = socket.Receive(reply);
        byte[] cookie = CookieOf(reply.AsSpan(0, length)) ?? throw new InvalidOperationException("the reply is not a HelloVerifyRequest");
        socket.Send(ClientHello(cookie, messageSequence: 1, recordSequence: 1, randomSeed: randomSeed));
        return cookie;
    }

    private static void WriteUInt24(Span<byte> destination, int value)
    {
        destination[0] = (byte)(value >> 16);
        destination[1] = (byte)(value >> 8);
        destination[2] = (byte)value;
    }
}
