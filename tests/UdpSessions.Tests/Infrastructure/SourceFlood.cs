using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>
/// Simulates many hosts on loopback: each source is a socket bound to its own 127.a.b.c address (Linux routes all of
/// 127/8 to lo, no setup needed), sends its datagrams and is closed again, so thousands of sources cost no more than
/// one fd at a time. Sources never use 127.0.x.x (the server and the established clients live there).
/// </summary>
public static class SourceFlood
{
    /// <summary>The address of source number <paramref name="index"/>: 127.(first + index / 65024).(index / 254 % 256).(1 + index % 254).</summary>
    public static IPAddress SourceAddress(int index, int firstOctet = 10) =>
        new([127, (byte)(firstOctet + (index / (254 * 256))), (byte)(index / 254 % 256), (byte)(1 + (index % 254))]);

    /// <summary>
    /// Sends <paramref name="datagram"/> once from each of <paramref name="count"/> sources to <paramref name="target"/>;
    /// every <paramref name="paceEvery"/> sources it waits (bounded) until <paramref name="received"/> has caught up to
    /// within <paramref name="maxInFlight"/>, so the kernel's receive buffers never overflow and every datagram can be
    /// counted. <paramref name="onPace"/> runs at each pause (sampling). Returns the datagrams sent.
    /// </summary>
    public static int Send(IPEndPoint target, int count, Func<int, IPAddress> source, Func<int, byte[]> datagram, Func<long> received,
        CancellationToken cancellationToken, int paceEvery = 250, int maxInFlight = 1000, Action? onPace = null)
    {
        long start = received();
        int sent = 0;
        for (int i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp))
            {
                socket.Bind(new IPEndPoint(source(i), 0));
                socket.SendTo(datagram(i), target);
            }

            sent++;
            if (sent % paceEvery == 0)
            {
                onPace?.Invoke();
                Eventually.True(() => received() - start >= sent - maxInFlight, () => $"the server read {received() - start} of {sent} flood datagrams");
            }
        }

        return sent;
    }
}
