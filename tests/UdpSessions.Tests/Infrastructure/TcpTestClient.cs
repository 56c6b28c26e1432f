using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>A plain .NET TCP client that speaks the server's framing, for TCP session tests.</summary>
public sealed class TcpTestClient : IDisposable
{
    private readonly TcpFraming _framing;

    private TcpTestClient(Socket socket, TcpFraming framing)
    {
        Socket = socket;
        _framing = framing;
    }

    public Socket Socket { get; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)Socket.LocalEndPoint!;

    public static async Task<TcpTestClient> ConnectAsync(IPEndPoint server, TcpFraming framing, CancellationToken cancellationToken)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server, cancellationToken);
        return new TcpTestClient(socket, framing);
    }

    /// <summary>A message with its length prefix, as the server's framing expects it.</summary>
    public static byte[] Frame(TcpFraming framing, ReadOnlySpan<byte> message)
    {
        int header = framing switch { TcpFraming.LengthPrefix32 => 4, TcpFraming.LengthPrefix16 => 2, _ => 0 };
        byte[] frame = new byte[header + message.Length];
        if (header == 4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)message.Length);
        }
        else if (header == 2)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)message.Length);
        }

        message.CopyTo(frame.AsSpan(header));
        return frame;
    }

    public Task SendMessageAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken) =>
        SendRawAsync(Frame(_framing, message.Span), cancellationToken);

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            int sent = await Socket.SendAsync(bytes, SocketFlags.None, cancellationToken);
            bytes = bytes[sent..];
        }
    }

    /// <summary>The next framed message, or null at end of stream.</summary>
    public async Task<byte[]?> ReceiveMessageAsync(CancellationToken cancellationToken)
    {
        int headerSize = _framing == TcpFraming.LengthPrefix32 ? 4 : 2;
        byte[] header = new byte[headerSize];
        if (!await ReadExactlyAsync(header, cancellationToken))
        {
            return null;
        }

        int length = headerSize == 4 ? (int)BinaryPrimitives.ReadUInt32BigEndian(header) : BinaryPrimitives.ReadUInt16BigEndian(header);
        byte[] message = new byte[length];
        Assert.True(await ReadExactlyAsync(message, cancellationToken), "the stream ended inside a frame");
        return message;
    }

    /// <summary>Fills <paramref name="buffer"/>; false if the stream ended first.</summary>
    public async Task<bool> ReadExactlyAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            int read = await Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                return false;
            }

            buffer = buffer[read..];
        }

        return true;
    }

    /// <summary>Reads until the server closes the connection; returns the bytes that came before.</summary>
    public async Task<int> DrainUntilClosedAsync(CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[64 * 1024];
        int total = 0;
        try
        {
            int read;
            while ((read = await Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
            {
                total += read;
            }
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionReset)
        {
        }

        return total;
    }

    /// <summary>Closes with RST instead of FIN (SO_LINGER with a zero timeout).</summary>
    public void Reset()
    {
        Socket.LingerState = new LingerOption(true, 0);
        Socket.Close();
    }

    public void Dispose() => Socket.Dispose();
}
