using System.Text;

namespace UdpSessions.Tests.Dtls;

/// <summary>
/// A small CoAP (RFC 7252) responder written as a session handler: a confirmable GET is answered with a piggybacked
/// 2.05 Content whose text payload names the Uri-Path it asked for; anything else gets 4.00 Bad Request. Enough for
/// libcoap's coap-client to fetch a resource over coaps://.
/// </summary>
public sealed class CoapResponder : SessionHandler
{
    private const byte Confirmable = 0;
    private const byte Acknowledgement = 2;
    private const byte Get = 0x01;
    private const byte Content = 0x45; // 2.05
    private const byte BadRequest = 0x80; // 4.00
    private const int UriPath = 11;

    private int _requests;

    public int Requests => Volatile.Read(ref _requests);

    public static string Answer(string path) => $"UdpSessions says hello to /{path}";

    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
    {
        Interlocked.Increment(ref _requests);
        ReadOnlySpan<byte> request = datagram;
        if (request.Length < 4 || request[0] >> 6 != 1)
        {
            return; // not CoAP version 1: no reply
        }

        int type = (request[0] >> 4) & 3;
        int tokenLength = request[0] & 0x0F;
        if (tokenLength > 8 || request.Length < 4 + tokenLength)
        {
            return;
        }

        string? path = request[1] == Get ? ReadUriPath(request[(4 + tokenLength)..]) : null;
        byte[] payload = Encoding.UTF8.GetBytes(path is null ? "bad request" : Answer(path));
        byte[] response = new byte[4 + tokenLength + 1 + payload.Length];
        response[0] = (byte)((1 << 6) | ((type == Confirmable ? Acknowledgement : 1) << 4) | tokenLength);
        response[1] = path is null ? BadRequest : Content;
        response[2] = request[2]; // message id
        response[3] = request[3];
        request.Slice(4, tokenLength).CopyTo(response.AsSpan(4));
        response[4 + tokenLength] = 0xFF; // payload marker
        payload.CopyTo(response.AsSpan(5 + tokenLength));
        session.Send(response);
    }

    /// <summary>The Uri-Path options joined with '/', or null when the options are malformed.</summary>
    private static string? ReadUriPath(ReadOnlySpan<byte> options)
    {
        var segments = new List<string>();
        int number = 0;
        while (!options.IsEmpty && options[0] != 0xFF)
        {
            int delta = options[0] >> 4;
            int length = options[0] & 0x0F;
            options = options[1..];
            if (!ReadExtended(ref options, ref delta) || !ReadExtended(ref options, ref length) || options.Length < length)
            {
                return null;
            }

            number += delta;
            if (number == UriPath)
            {
                segments.Add(Encoding.UTF8.GetString(options[..length]));
            }

            options = options[length..];
        }

        return string.Join('/', segments);
    }

    private static bool ReadExtended(ref ReadOnlySpan<byte> data, ref int value)
    {
        switch (value)
        {
            case 13 when data.Length >= 1:
                value = 13 + data[0];
                data = data[1..];
                return true;
            case 14 when data.Length >= 2:
                value = 269 + ((data[0] << 8) | data[1]);
                data = data[2..];
                return true;
            case 15:
                return false;
            default:
                return value < 13;
        }
    }
}
