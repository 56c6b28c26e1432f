using System.Net.Sockets;

namespace UdpSessions.Cli.Load;

/// <summary>Readiness through <see cref="Socket.Select"/>, for platforms without epoll; its cost grows with the sockets watched.</summary>
internal sealed class SelectReadiness(int capacity) : Readiness
{
    private readonly Dictionary<Socket, int> _slots = new(capacity);
    private readonly List<Socket> _check = new(capacity);

    public override void Add(int slot, ClientSession session) => _slots.Add(session.Socket, slot);

    public override void Remove(int slot, ClientSession session) => _slots.Remove(session.Socket);

    public override void Wait(List<int> readySlots, int timeoutMs)
    {
        _check.Clear();
        _check.AddRange(_slots.Keys);
        if (_check.Count == 0)
        {
            Thread.Sleep(Math.Max(1, timeoutMs));
            return;
        }

        Socket.Select(_check, null, null, timeoutMs * 1000);
        foreach (Socket socket in _check)
        {
            readySlots.Add(_slots[socket]);
        }
    }
}
