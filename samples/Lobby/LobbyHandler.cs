using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using UdpSessions;

namespace Lobby;

/// <summary>What the lobby knows of one player; only the player's own I/O thread touches it, so it needs no lock.</summary>
public sealed class Player
{
    public SessionGroup? Room { get; set; }

    public float X { get; set; }

    public float Y { get; set; }

    public long LastInput { get; set; } = Environment.TickCount64;
}

/// <summary>
/// A lobby: "join NAME" moves a player into a room, "pos X Y" moves the player. 20 times a second every player's
/// position goes to the rest of its room ("ID X Y"). Players who send no input for <paramref name="afkLimit"/> are
/// kicked with a goodbye; every other close (idle timeout, shutdown) says goodbye too.
/// </summary>
public sealed class LobbyHandler(TimeSpan afkLimit) : SessionHandler<Player>
{
    private static readonly TimeSpan SnapshotPeriod = TimeSpan.FromMilliseconds(50); // 20 Hz
    private readonly ConcurrentDictionary<string, SessionGroup> _rooms = new();

    protected override Player CreateState(Session session) => new();

    // The player's snapshots run on its session's I/O thread, like its callbacks: never at the same time as them.
    public override void OnSessionAccepted(Session session, Player player) =>
        session.Schedule(SnapshotPeriod, SnapshotPeriod, SendSnapshot);

    public override void OnDatagram(Session session, Player player, ReadOnlySpan<byte> datagram)
    {
        player.LastInput = Environment.TickCount64;
        if (datagram.StartsWith("join "u8))
        {
            player.Room?.Remove(session);
            player.Room = _rooms.GetOrAdd(Encoding.UTF8.GetString(datagram[5..]), _ => new SessionGroup());
            player.Room.Add(session);
        }
        else if (datagram.StartsWith("pos "u8) && datagram[4..].IndexOf((byte)' ') is int space and > 0
            && float.TryParse(datagram.Slice(4, space), CultureInfo.InvariantCulture, out float x)
            && float.TryParse(datagram[(5 + space)..], CultureInfo.InvariantCulture, out float y))
        {
            (player.X, player.Y) = (x, y);
        }
    }

    // Sessions leave their rooms by themselves when they close; this is the last moment to tell the player why.
    public override void OnSessionClosing(Session session, Player player, SessionCloseReason reason)
    {
        if (reason != SessionCloseReason.ClosedByApplication) // a kick already sent its own goodbye
        {
            session.Send(reason == SessionCloseReason.ServerShutdown ? "bye: server shutting down"u8 : "bye: timed out"u8);
        }
    }

    private void SendSnapshot(Session session)
    {
        Player player = session.GetState<Player>();
        if (TimeSpan.FromMilliseconds(Environment.TickCount64 - player.LastInput) > afkLimit)
        {
            session.Close("afk", "kicked: away from keyboard"u8); // counted per reason in the server's statistics and metrics
            return;
        }

        Span<byte> snapshot = stackalloc byte[64];
        if (player.Room is { } room && Utf8.TryWrite(snapshot, CultureInfo.InvariantCulture, $"{session.Id} {player.X} {player.Y}", out int length))
        {
            room.Send(snapshot[..length], except: session); // one call; on this I/O thread, one send batch
        }
    }
}
