using System.Net;
using System.Net.Sockets;
using UdpSessions.Internal;

namespace UdpSessions.Engines;

/// <summary>The portable engine's single I/O thread: a blocking <c>ReceiveFrom</c> loop over the address map.</summary>
internal sealed class PortableLoop(PortableEngine engine) : IoLoop(engine, 0)
{
    /// <summary>Receive timeout: how late a close request or an idle tick can be seen at most.</summary>
    public const int PollMilliseconds = 20;

    private const int MaxUdpDatagram = 65_535;

    // Nothing to interrupt: the receive timeout bounds how long a command waits.
    public override void Wake()
    {
    }

    protected override void RunIo()
    {
        Socket socket = engine.Socket;
        // Room for the largest UDP datagram whatever MaxDatagramSize is: ReceiveFrom cannot report the real length of
        // a datagram it had to cut, and an oversized one is counted with its real size.
        byte[] buffer = GC.AllocateUninitializedArray<byte>(MaxUdpDatagram, pinned: true);
        var source = new SocketAddress(socket.AddressFamily);
        PeerAddress local = PeerAddress.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!);
        while (!Engine.Stopping)
        {
            int length = Receive(socket, buffer, source);
            Now = Environment.TickCount64;
            if (length >= 0)
            {
                Counters.DatagramsReceived++;
                Counters.BytesReceived += length;
                if (length > MaxDatagramSize)
                {
                    Counters.Dropped[(int)DropReason.Oversized]++;
                }
                else
                {
                    RouteByAddress(PeerAddress.FromSocketAddress(source), local, buffer.AsSpan(0, length), RouteOrigin.Listener);
                }
            }

            RunCommands();
            AdvanceTimers();
        }
    }

    protected override void RegisterSocket(Session session)
    {
    }

    protected override void UnregisterSocket(Session session)
    {
    }

    /// <summary>Length of the datagram read, or -1 when nothing came.</summary>
    private static int Receive(Socket socket, byte[] buffer, SocketAddress source)
    {
        try
        {
            return socket.ReceiveFrom(buffer, SocketFlags.None, source);
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.MessageSize)
        {
            return buffer.Length;
        }
        catch (SocketException exception) when (exception.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock
            or SocketError.Interrupted or SocketError.ConnectionReset or SocketError.ConnectionRefused)
        {
            return -1;
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
    }
}
