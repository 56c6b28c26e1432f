namespace UdpSessions.Bench;

/// <summary>Where the server runs its sessions.</summary>
internal enum ServerKind
{
    /// <summary>epoll engine, every session on the listener and the address map (one sendmmsg for many sessions).</summary>
    EpollAddressMap,

    /// <summary>epoll engine, every session on a connected socket of its own (one send per session).</summary>
    EpollOwnSocket,

    /// <summary>The portable engine: one .NET Socket, SendTo per datagram.</summary>
    Portable,
}

/// <summary>Which thread the 20 Hz-style tick runs on.</summary>
internal enum TickOrigin
{
    /// <summary>A thread of the application's own (a game loop): not an I/O thread.</summary>
    AppThread,

    /// <summary>A periodic Session.Schedule timer: the I/O thread of one session.</summary>
    IoTimer,
}

/// <summary>How one snapshot goes to every session.</summary>
internal enum SendMethod
{
    /// <summary>SessionGroup.Send: the broadcast this benchmark is about.</summary>
    Group,

    /// <summary>foreach member: Session.Send, what an application writes without it.</summary>
    SendLoop,
}

/// <summary>One measured configuration.</summary>
internal sealed record BroadcastConfig(ServerKind Server, TickOrigin Origin, SendMethod Method)
{
    public string Name => $"{Server}/{Origin}/{Method}";

    public static IEnumerable<BroadcastConfig> All() =>
        from server in Enum.GetValues<ServerKind>()
        from origin in Enum.GetValues<TickOrigin>()
        from method in Enum.GetValues<SendMethod>()
        select new BroadcastConfig(server, origin, method);

    public static BroadcastConfig Parse(string name)
    {
        string[] parts = name.Split('/');
        return new BroadcastConfig(Enum.Parse<ServerKind>(parts[0]), Enum.Parse<TickOrigin>(parts[1]), Enum.Parse<SendMethod>(parts[2]));
    }
}

/// <summary>What a run measures.</summary>
internal sealed record BroadcastSettings(int Sessions, int Size, int Rate, double WarmupSeconds, double Seconds)
{
    public int WarmupTicks => (int)(Rate * WarmupSeconds);

    public int MeasuredTicks => (int)(Rate * Seconds);

    public int TotalTicks => WarmupTicks + MeasuredTicks;
}
