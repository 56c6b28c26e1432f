using System.Buffers.Text;
using System.Text;
using UdpSessions;

namespace TelemetryCollector;

/// <summary>
/// Parses one "name value" reading per message (ASCII, e.g. "cpu.load 0.75"), stores it and answers "ok" or
/// "bad". The same class serves UDP datagrams and TCP frames unchanged.
/// </summary>
public sealed class ReadingHandler(ReadingStore store) : SessionHandler
{
    private static readonly byte[] Ok = "ok"u8.ToArray();
    private static readonly byte[] Bad = "bad"u8.ToArray();

    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
    {
        int space = datagram.IndexOf((byte)' ');
        if (space <= 0 || !Utf8Parser.TryParse(datagram[(space + 1)..].TrimEnd("\r\n"u8), out double value, out int consumed)
            || consumed != datagram[(space + 1)..].TrimEnd("\r\n"u8).Length)
        {
            store.Reject();
            session.Send(Bad);
            return;
        }

        store.Add(Encoding.ASCII.GetString(datagram[..space]), value);
        session.Send(Ok);
    }
}
