using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using UdpSessions.Engines.Linux;
using UdpSessions.Interop.Linux;
using UdpSessions.Internal;
using static UdpSessions.Interop.Linux.SocketConstants;

namespace UdpSessions.Handover;

/// <summary>
/// The handover conversation on the Unix stream socket (docs/operations.md): the successor sends <see cref="Request"/>;
/// the predecessor answers with one message carrying the listening sockets (SCM_RIGHTS) and a header (magic, version,
/// count, flags), then the diverted datagrams (listener, source, destination, length, bytes; little-endian) ending
/// with listener -1; the successor answers <see cref="Acknowledgement"/> once it serves them.
/// </summary>
internal static unsafe class HandoverWire
{
    public const int Version = 1;
    public const byte Acknowledgement = (byte)'K';
    private const uint Magic = 0x48504455; // "UDPH"
    private const int HeaderSize = 16;
    private const int SockAddrSize = PeerAddress.SockAddrV6Length;
    private const int MaxSockets = 1024;

    /// <summary>What the successor sends first.</summary>
    public static ReadOnlySpan<byte> Request => "UDPS-HANDOVER-1\n"u8;

    public static void SendListeners(Socket channel, ListenerHandover handover)
    {
        int count = handover.Sockets.Count;
        Span<byte> header = stackalloc byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], count);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], handover.Steered ? 1 : 0);

        int controlLength = CMsgHdr.Space(count * sizeof(int));
        byte* control = stackalloc byte[controlLength];
        new Span<byte>(control, controlLength).Clear();
        var cmsg = (CMsgHdr*)control;
        cmsg->Length = (nuint)(CMsgHdr.DataOffset + (count * sizeof(int)));
        cmsg->Level = SOL_SOCKET;
        cmsg->Type = SCM_RIGHTS;
        var fds = (int*)(control + CMsgHdr.DataOffset);
        var references = new bool[count];
        try
        {
            for (int i = 0; i < count; i++)
            {
                handover.Sockets[i].DangerousAddRef(ref references[i]);
                fds[i] = handover.Sockets[i].Fd;
            }

            fixed (byte* data = header)
            {
                IoVec iov = new() { Base = data, Length = HeaderSize };
                MsgHdr message = new() { Iov = &iov, IovLength = 1, Control = control, ControlLength = (nuint)controlLength };
                if (Libc.SendMsg(channel.SafeHandle, &message, MSG_NOSIGNAL) != HeaderSize)
                {
                    throw new SocketException(Marshal.GetLastPInvokeError());
                }
            }
        }
        finally
        {
            for (int i = 0; i < count; i++)
            {
                if (references[i])
                {
                    handover.Sockets[i].DangerousRelease();
                }
            }
        }

        using var stream = new BufferedStream(new NetworkStream(channel, ownsSocket: false), 1 << 16);
        Span<byte> entry = stackalloc byte[4 + SockAddrSize + SockAddrSize + 4];
        foreach (List<HandedOverDatagram> backlog in handover.Backlog)
        {
            foreach (HandedOverDatagram datagram in backlog)
            {
                entry.Clear();
                BinaryPrimitives.WriteInt32LittleEndian(entry, datagram.Listener);
                datagram.Source.WriteLinuxSockAddr(entry[4..]);
                datagram.Destination.WriteLinuxSockAddr(entry[(4 + SockAddrSize)..]);
                BinaryPrimitives.WriteInt32LittleEndian(entry[(4 + SockAddrSize + SockAddrSize)..], datagram.Data.Length);
                stream.Write(entry);
                stream.Write(datagram.Data);
            }
        }

        BinaryPrimitives.WriteInt32LittleEndian(entry, -1);
        stream.Write(entry[..4]);
        stream.Flush();
    }

    public static ListenerHandover ReceiveListeners(Socket channel)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        int controlLength = CMsgHdr.Space(MaxSockets * sizeof(int));
        byte* control = stackalloc byte[controlLength];
        List<SafeFdHandle> sockets = [];
        try
        {
            int received;
            MsgHdr message;
            fixed (byte* data = header)
            {
                IoVec iov = new() { Base = data, Length = HeaderSize };
                message = new() { Iov = &iov, IovLength = 1, Control = control, ControlLength = (nuint)controlLength };
                received = (int)Libc.RecvMsg(channel.SafeHandle, &message, 0x40000000 /* MSG_CMSG_CLOEXEC */);
            }

            if (received < 0)
            {
                throw new SocketException(Marshal.GetLastPInvokeError());
            }

            for (byte* at = control; message.ControlLength >= (nuint)CMsgHdr.DataOffset && at + CMsgHdr.DataOffset <= control + message.ControlLength;)
            {
                var cmsg = (CMsgHdr*)at;
                if (cmsg->Length < (nuint)CMsgHdr.DataOffset)
                {
                    break;
                }

                if (cmsg->Level == SOL_SOCKET && cmsg->Type == SCM_RIGHTS)
                {
                    int fdCount = ((int)cmsg->Length - CMsgHdr.DataOffset) / sizeof(int);
                    for (int i = 0; i < fdCount; i++)
                    {
                        sockets.Add(new SafeFdHandle(((int*)(at + CMsgHdr.DataOffset))[i]));
                    }
                }

                at += CMsgHdr.Space((int)cmsg->Length - CMsgHdr.DataOffset);
            }

            if (received != HeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
            {
                throw new InvalidDataException($"The process on the handover socket did not answer as a UdpSessions server ({received} bytes).");
            }

            int version = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
            int count = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            if (version != Version || count != sockets.Count || count == 0)
            {
                throw new InvalidDataException($"Handover version {version} with {count} listeners announced and {sockets.Count} received (this side speaks version {Version}).");
            }

            bool steered = (BinaryPrimitives.ReadInt32LittleEndian(header[12..]) & 1) != 0;
            var backlog = new List<HandedOverDatagram>[count];
            for (int i = 0; i < count; i++)
            {
                backlog[i] = [];
            }

            using var stream = new BufferedStream(new NetworkStream(channel, ownsSocket: false), 1 << 16);
            Span<byte> entry = stackalloc byte[4 + SockAddrSize + SockAddrSize + 4];
            while (true)
            {
                stream.ReadExactly(entry[..4]);
                int listener = BinaryPrimitives.ReadInt32LittleEndian(entry);
                if (listener < 0)
                {
                    break;
                }

                stream.ReadExactly(entry[4..]);
                int length = BinaryPrimitives.ReadInt32LittleEndian(entry[(4 + SockAddrSize + SockAddrSize)..]);
                if (listener >= count || length is < 0 or > SessionServerOptions.MaxUdpPayload)
                {
                    throw new InvalidDataException($"A handed-over datagram names listener {listener} of {count}, {length} bytes.");
                }

                byte[] data = new byte[length];
                stream.ReadExactly(data);
                backlog[listener].Add(new HandedOverDatagram(listener, PeerAddress.FromLinuxSockAddr(entry[4..]),
                    PeerAddress.FromLinuxSockAddr(entry[(4 + SockAddrSize)..]), data));
            }

            return new ListenerHandover(sockets, steered, backlog);
        }
        catch
        {
            foreach (SafeFdHandle socket in sockets)
            {
                socket.Dispose();
            }

            throw;
        }
    }
}
