using System.Net;
using System.Net.Sockets;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// One listening socket per I/O thread, all bound to the server's endpoint in one SO_REUSEPORT group, each read only
/// by its own thread: the kernel spreads new peers over the threads and keeps every peer on one of them (the
/// <see cref="SteeringProgram"/> decides which), so no listener needs a lock.
/// </summary>
/// <remarks>
/// The sockets set SO_REUSEPORT and never SO_REUSEADDR. Linux lets any user bind a port whose sockets all set
/// SO_REUSEADDR, and the newest socket then takes the traffic; SO_REUSEPORT sharing is limited to the owner's uid.
/// The first listener gets the steering program before bind(), which makes its bind exclusive: it fails if any socket,
/// even one of this user's own reuseport groups, holds the endpoint (and port 0 never picks such a port).
/// </remarks>
internal sealed partial class ListenerGroup : IDisposable
{
    private ListenerGroup(LinuxListener[] listeners, PeerAddress local, bool steered)
    {
        Listeners = listeners;
        Local = local;
        Steered = steered;
    }

    /// <summary>
    /// True when the group carries this engine's <see cref="SteeringProgram"/> over exactly these listeners, in this
    /// order: then the kernel never hands a datagram to any other member (a sending twin, a session socket joining
    /// for an instant), and a successor taking the listeners over may add twins of its own.
    /// </summary>
    public bool Steered { get; }

    /// <summary>Listener i is read by I/O thread i; the steering program returns i for the peers of thread i.</summary>
    public LinuxListener[] Listeners { get; }

    /// <summary>The bound address and the port actually bound (port 0 resolved).</summary>
    public PeerAddress Local { get; }

    public bool IsWildcard => Local.IsAny;

    public static ListenerGroup Open(SessionServerOptions options)
    {
        IPEndPoint endPoint = options.EndPoint;
        bool ipv6 = endPoint.AddressFamily == AddressFamily.InterNetworkV6;
        PeerAddress address = PeerAddress.FromIPEndPoint(endPoint);
        var listeners = new LinuxListener[options.IoThreads];
        try
        {
            // A shared port joins the group of whoever holds it, so it neither claims it exclusively nor steers it:
            // the kernel's own hash spreads peers over every listener of every process (docs/operations.md).
            SockFilter[]? program = options.SharedPort ? null
                : options.SteerAllToListenerForTests is int only ? SteeringProgram.AllTo(only)
                : SteeringProgram.Create(listeners.Length, ipv6);
            for (int i = 0; i < listeners.Length; i++)
            {
                listeners[i] = LinuxListener.Open(address, options, i == 0 ? program : null);
                if (i == 0)
                {
                    address = listeners[0].Local; // the others join the port the first one got
                }
            }

            foreach (LinuxListener listener in listeners)
            {
                if (options.SharedPort)
                {
                    listener.SendFromListener();
                }
                else
                {
                    listener.OpenSender(options);
                }
            }

            return new ListenerGroup(listeners, listeners[0].Local, steered: !options.SharedPort);
        }
        catch
        {
            foreach (LinuxListener? listener in listeners)
            {
                listener?.Dispose();
            }

            throw;
        }
    }

    /// <summary>Tests only: replaces the group's steering program while it serves (see <see cref="SteeringProgram.AllTo"/>).</summary>
    public void SteerAllTo(int listener)
    {
        int errno = LinuxSocket.AttachReusePortProgram(Listeners[0].Socket, SteeringProgram.AllTo(listener));
        if (errno != 0)
        {
            throw new SocketException(errno);
        }
    }

    public void Dispose()
    {
        foreach (LinuxListener listener in Listeners)
        {
            listener.Dispose();
        }
    }
}
