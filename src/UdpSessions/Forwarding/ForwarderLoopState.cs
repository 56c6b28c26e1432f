namespace UdpSessions.Forwarding;

/// <summary>What the forwarder keeps per I/O loop, touched by that loop's thread only: round-robin scores and held bytes.</summary>
internal sealed class ForwarderLoopState
{
    /// <summary>Bytes of client datagrams one loop may hold while waiting for upstream sockets.</summary>
    public const int MaxHeldBytes = 4 << 20;

    private long _heldBytes;
    private long _heldCount;

    public RoundRobinPicker RoundRobin { get; } = new();

    public long HeldBytes => Volatile.Read(ref _heldBytes);

    /// <summary>Datagrams held now (read by statistics on other threads).</summary>
    public long HeldCount => Volatile.Read(ref _heldCount);

    public bool TryReserveHeld(int length)
    {
        if (_heldBytes + length > MaxHeldBytes)
        {
            return false;
        }

        Volatile.Write(ref _heldBytes, _heldBytes + length);
        Volatile.Write(ref _heldCount, _heldCount + 1);
        return true;
    }

    public void ReleaseHeld(int length)
    {
        Volatile.Write(ref _heldBytes, _heldBytes - length);
        Volatile.Write(ref _heldCount, _heldCount - 1);
    }
}
