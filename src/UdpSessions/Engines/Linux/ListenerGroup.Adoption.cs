using System.Net.Sockets;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>Listeners this process did not bind: from systemd (socket activation) or from the process it takes over from.</summary>
internal sealed partial class ListenerGroup
{
    /// <summary>
    /// Serves <paramref name="sockets"/> (already bound UDP sockets of one address and port), one I/O thread each.
    /// <paramref name="steered"/>: the sockets are a UdpSessions group handed over in index order with its steering
    /// program, so sending twins may join (the program never picks them). Otherwise replies leave from the listeners,
    /// and several sockets of one reuseport group get the program (every member is then one of them, whatever the
    /// order systemd bound them in).
    /// </summary>
    public static ListenerGroup Adopt(IReadOnlyList<SafeFdHandle> sockets, bool steered, SessionServerOptions options)
    {
        var listeners = new LinuxListener[sockets.Count];
        try
        {
            for (int i = 0; i < listeners.Length; i++)
            {
                CheckDatagramSocket(sockets[i], i);
                listeners[i] = LinuxListener.Adopt(sockets[i], options);
                if (listeners[i].Local != listeners[0].Local)
                {
                    throw new ArgumentException($"Listener socket {i} is bound to {listeners[i].Local}, socket 0 to {listeners[0].Local}: one endpoint only.");
                }
            }

            bool reusePort = listeners.All(listener => LinuxSocket.GetOption(listener.Socket, SOL_SOCKET, SO_REUSEPORT) == 1);
            if (!steered && listeners.Length > 1 && reusePort)
            {
                int errno = LinuxSocket.AttachReusePortProgram(listeners[0].Socket, SteeringProgram.Create(listeners.Length, listeners[0].Local.IsIPv6));
                if (errno != 0)
                {
                    throw new SocketException(errno);
                }
            }

            foreach (LinuxListener listener in listeners)
            {
                if (steered)
                {
                    listener.OpenSender(options);
                }
                else
                {
                    listener.SendFromListener();
                }
            }

            return new ListenerGroup(listeners, listeners[0].Local, steered) { Adopted = true, ReusePort = reusePort };
        }
        catch
        {
            foreach (LinuxListener? listener in listeners)
            {
                listener?.Dispose();
            }

            foreach (SafeFdHandle socket in sockets)
            {
                socket.Dispose();
            }

            throw;
        }
    }

    /// <summary>True when the listeners were bound by someone else (<see cref="Adopt"/>).</summary>
    public bool Adopted { get; private init; }

    /// <summary>
    /// False for adopted sockets without SO_REUSEPORT (systemd's default): no other socket can bind their port, so no
    /// session can get a socket of its own and the port cannot be shared.
    /// </summary>
    public bool ReusePort { get; private init; } = true;

    private static void CheckDatagramSocket(SafeFdHandle socket, int index)
    {
        int domain = LinuxSocket.GetOption(socket, SOL_SOCKET, SO_DOMAIN);
        int type = LinuxSocket.GetOption(socket, SOL_SOCKET, SO_TYPE);
        if (domain is not (AF_INET or AF_INET6) || type != SOCK_DGRAM)
        {
            throw new ArgumentException($"Listener socket {index} (fd {socket.Fd}) is not a UDP socket (domain {domain}, type {type}).");
        }

        if (LinuxSocket.GetLocalAddress(socket).Port == 0)
        {
            throw new ArgumentException($"Listener socket {index} (fd {socket.Fd}) is not bound.");
        }
    }
}
