using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Bench;

/// <summary>
/// Many hosts on loopback: source number i is a fresh socket bound to its own 127.a.b.c address (all of 127/8 is local
/// on Linux), so every source is a new peer to the server and costs the sender one fd for a moment.
/// </summary>
internal static class NewSources
{
    /// <summary>127.(firstOctet + i / 65024 mod span).(i / 254 mod 256).(1 + i mod 254), cycling through <paramref name="span"/> second octets.</summary>
    public static IPAddress Address(long index, int firstOctet, int span = 100)
    {
        long host = index % (254L * 256 * span);
        return new IPAddress([127, (byte)(firstOctet + (host / (254 * 256))), (byte)(host / 254 % 256), (byte)(1 + (host % 254))]);
    }

    /// <summary>Sends one datagram from a new source and closes it.</summary>
    public static void SendOnce(IPEndPoint target, IPAddress source, ReadOnlySpan<byte> datagram)
    {
        using var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(source, 0));
        try
        {
            socket.SendTo(datagram, SocketFlags.None, target);
        }
        catch (SocketException)
        {
            // a full device queue: the flood is best effort
        }
    }
}
