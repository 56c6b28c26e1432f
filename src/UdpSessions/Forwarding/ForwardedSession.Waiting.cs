using System.Buffers;

namespace UdpSessions.Forwarding;

/// <summary>
/// Waiting for a socket: while no upstream socket can be made (no fd left, or the budget spent), a session's datagrams
/// are held (copied, bounded per session and per I/O thread) and the socket is tried again every 10 ms; once it is
/// made they go out in order, and those held longer than <see cref="UdpForwarderOptions.UpstreamSocketWait"/> are
/// dropped and counted (<see cref="ForwardDropReason.NoUpstreamSocket"/>).
/// </summary>
internal sealed partial class ForwardedSession
{
    private const int MaxHeldPerSession = 64;
    private static readonly TimeSpan s_socketRetryPeriod = TimeSpan.FromMilliseconds(10);

    private Queue<(byte[] Buffer, int Length, long HeldAt)>? _held;
    private SessionTimer? _socketRetry;

    /// <summary>Keeps a copy of a datagram while no socket toward the upstream can be made (bounded, see UpstreamSocketWait).</summary>
    private void Hold(ReadOnlySpan<byte> datagram)
    {
        if (_forwarder.Options.UpstreamSocketWait == TimeSpan.Zero || _held?.Count >= MaxHeldPerSession
            || !_forwarder.LoopStates[Session.Home.Index].TryReserveHeld(datagram.Length))
        {
            Counters.Dropped[(int)ForwardDropReason.NoUpstreamSocket]++;
            return;
        }

        byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, datagram.Length));
        datagram.CopyTo(copy);
        (_held ??= new()).Enqueue((copy, datagram.Length, Session.Home.Now));
        Counters.DatagramsHeld++;
        _socketRetry ??= Session.Schedule(s_socketRetryPeriod, s_socketRetryPeriod, static session => ((ForwardedSession)session.UserState!).RetrySocket());
    }

    /// <summary>Every 10 ms while datagrams are held: the socket again, then what was held, in order; the too old are dropped.</summary>
    private void RetrySocket()
    {
        if (_channel is null && !TryBind(RoundRobin || _upstream is { IsUsable: true } ? _upstream : PickNewUpstream(count: false)))
        {
            DropExpiredHeld();
            return;
        }

        _forwarder.NoteSocketsAvailable();
        _socketRetry?.Cancel();
        _socketRetry = null;
        Queue<(byte[] Buffer, int Length, long HeldAt)>? held = _held;
        _held = null;
        while (held is not null && held.TryDequeue(out var datagram))
        {
            _forwarder.LoopStates[Session.Home.Index].ReleaseHeld(datagram.Length);
            if (_channel is not null && _held is null)
            {
                Send(datagram.Buffer.AsSpan(0, datagram.Length), mayRetry: true);
            }
            else
            {
                Hold(datagram.Buffer.AsSpan(0, datagram.Length)); // the socket went away again (a failed move): back in line
            }

            ArrayPool<byte>.Shared.Return(datagram.Buffer);
        }
    }

    private void DropExpiredHeld()
    {
        long oldest = Session.Home.Now - (long)_forwarder.Options.UpstreamSocketWait.TotalMilliseconds;
        while (_held is { Count: > 0 } && _held.Peek().HeldAt < oldest)
        {
            DropHeld(_held.Dequeue());
        }
    }

    private void DropHeld((byte[] Buffer, int Length, long HeldAt) held)
    {
        _forwarder.LoopStates[Session.Home.Index].ReleaseHeld(held.Length);
        ArrayPool<byte>.Shared.Return(held.Buffer);
        Counters.Dropped[(int)ForwardDropReason.NoUpstreamSocket]++;
    }
}
