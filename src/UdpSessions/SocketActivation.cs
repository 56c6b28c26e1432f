using System.Globalization;
using System.Net.Sockets;

namespace UdpSessions;

/// <summary>
/// Sockets handed over by systemd (socket activation, sd_listen_fds(3)): a <c>.socket</c> unit with
/// <c>ListenDatagram=</c> (or <c>systemd-socket-activate --datagram</c>) binds the port and starts the service with the
/// sockets as fds 3, 4, ... and <c>LISTEN_PID</c>/<c>LISTEN_FDS</c> in its environment. Pass the result to
/// <see cref="SessionServerOptions.ListenerFileDescriptors"/>, as Kestrel's <c>UseSystemd</c> takes its listeners.
/// </summary>
public static class SocketActivation
{
    /// <summary>The first fd systemd passes (SD_LISTEN_FDS_START).</summary>
    public const int FirstFileDescriptor = 3;

    /// <summary>
    /// The UDP (IPv4 or IPv6 datagram) sockets systemd passed to this process, in the order of the unit's
    /// <c>ListenDatagram=</c> lines; empty when it passed none (no <c>LISTEN_FDS</c>, or meant for another process).
    /// Other passed fds (stream sockets, FIFOs) are left alone.
    /// </summary>
    public static IReadOnlyList<int> DatagramSockets()
    {
        if (!OperatingSystem.IsLinux()
            || !int.TryParse(Environment.GetEnvironmentVariable("LISTEN_PID"), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            || pid != Environment.ProcessId
            || !int.TryParse(Environment.GetEnvironmentVariable("LISTEN_FDS"), NumberStyles.None, CultureInfo.InvariantCulture, out int count))
        {
            return [];
        }

        var sockets = new List<int>();
        for (int fd = FirstFileDescriptor; fd < FirstFileDescriptor + count; fd++)
        {
            if (IsUdpSocket(fd))
            {
                sockets.Add(fd);
            }
        }

        return sockets;
    }

    private static bool IsUdpSocket(int fd)
    {
        using var handle = new Interop.Linux.SafeFdHandle(fd, ownsHandle: false); // only looked at here
        int type = Engines.Linux.LinuxSocket.GetOption(handle, Interop.Linux.SocketConstants.SOL_SOCKET, Interop.Linux.SocketConstants.SO_TYPE);
        int domain = Engines.Linux.LinuxSocket.GetOption(handle, Interop.Linux.SocketConstants.SOL_SOCKET, Interop.Linux.SocketConstants.SO_DOMAIN);
        return type == (int)SocketType.Dgram && domain is Interop.Linux.SocketConstants.AF_INET or Interop.Linux.SocketConstants.AF_INET6;
    }
}
