using System.Net.Sockets;
using Org.BouncyCastle.Tls;
using UdpSessions.Dtls.Records;

namespace UdpSessions.Dtls.Client;

/// <summary>The client's handshake transport: its connected socket, blocking with the waits BouncyCastle asks for.</summary>
internal sealed class ClientTransport(Socket socket, int sendLimit) : DatagramTransport
{
    public long LastEpoch1Sequence { get; private set; } = -1;

    public int GetReceiveLimit() => SessionServerOptions.MaxUdpPayload;

    public int GetSendLimit() => sendLimit;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        long deadline = Environment.TickCount64 + (waitMillis <= 0 ? int.MaxValue : waitMillis);
        while (true)
        {
            long remaining = deadline - Environment.TickCount64;
            if (remaining <= 0 || !socket.Poll(TimeSpan.FromMilliseconds(remaining), SelectMode.SelectRead))
            {
                return -1;
            }

            int received = socket.Receive(buffer, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                return received;
            }

            if (error is not (SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.WouldBlock or SocketError.MessageSize))
            {
                throw new SocketException((int)error);
            }
        }
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length >= DtlsRecord.HeaderLength && DtlsRecord.ReadEpochAndSequence(buffer) >> 48 == RecordProtection.Epoch)
        {
            LastEpoch1Sequence = Math.Max(LastEpoch1Sequence, (long)(DtlsRecord.ReadEpochAndSequence(buffer) & 0xFFFF_FFFF_FFFFUL));
        }

        socket.Send(buffer, SocketFlags.None, out _); // a lost datagram: BouncyCastle retransmits
    }

    public void Close()
    {
    }
}
