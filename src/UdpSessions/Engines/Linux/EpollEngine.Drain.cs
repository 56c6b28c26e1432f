using UdpSessions.Interop.Linux;
using UdpSessions.Internal;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// Where the listeners come from (bound here, adopted from systemd, or taken over from a predecessor) and how they
/// are let go when the server drains (docs/operations.md).
/// </summary>
internal sealed partial class EpollEngine
{
    /// <summary>Listeners (and new peers' datagrams) taken over from a predecessor, set before <see cref="Start"/>.</summary>
    public ListenerHandover? Inherited { get; set; }

    /// <summary>
    /// True when sessions can be given sockets of their own, and so be kept through a drain: a kernel with the 4-tuple
    /// hash (6.13+), not an IPv4 wildcard listener, not a shared port on a wildcard address, a listener with SO_REUSEPORT.
    /// </summary>
    public bool CanKeepSessions { get; private set; }

    private ListenerGroup OpenListeners()
    {
        if (Inherited is { } inherited)
        {
            return ListenerGroup.Adopt(inherited.Sockets, inherited.Steered, Options);
        }

        if (Options.ListenerFileDescriptors is { Count: > 0 } fds)
        {
            return ListenerGroup.Adopt([.. fds.Select(fd => new SafeFdHandle(fd))], steered: false, Options);
        }

        return ListenerGroup.Open(Options);
    }

    /// <summary>Falls back to the address map where a session socket could lose or steal a datagram; true when sockets of their own are possible.</summary>
    private bool DecideSessionSockets()
    {
        string? reason = null;
        if (_listeners!.IsWildcard && !_listeners.Local.IsIPv6)
        {
            // See SessionSocketFactory: connect() moves a socket bound to 0.0.0.0 out of the chain the kernel scans
            // for every new peer, and a lookup passing it at that instant misses the listeners (ICMP, datagram lost).
            Log.NoSessionSocketsOnIPv4Wildcard(Logger, LocalEndPoint);
            reason = "IPv4 wildcard";
        }
        else if (!_listeners.ReusePort)
        {
            reason = "listener without SO_REUSEPORT (no other socket can bind its port)";
        }
        else if (!_listeners.Steered && _listeners.IsWildcard)
        {
            reason = "wildcard listener without the steering program (a binding session socket would join the kernel's hash)";
        }
        else if (Options.SharedPort && Placement != SessionPlacement.AddressMap)
        {
            // A connected session socket (SO_REUSEADDR without SO_REUSEPORT) makes the kernel refuse the next
            // process's SO_REUSEPORT bind: sockets of their own only when draining, when nobody needs to join any more.
            Log.NoSessionSockets(Logger, LocalEndPoint, "shared port: other processes must be able to join; sessions get sockets of their own only to drain");
            Placement = SessionPlacement.AddressMap;
            return true;
        }

        if (reason is null)
        {
            return true;
        }

        if (Placement != SessionPlacement.AddressMap && reason[0] != 'I')
        {
            Log.NoSessionSockets(Logger, LocalEndPoint, reason);
        }

        Placement = SessionPlacement.AddressMap;
        return false;
    }

    /// <summary>
    /// Drains towards a successor: every loop stops taking new peers, gives its listener sessions sockets of their
    /// own, reads its listener past them and lets it go. Returns the listeners (index order) and the new peers'
    /// datagrams read meanwhile; the sockets stay open here until <see cref="ReleaseHandedOver"/> or
    /// <see cref="ReclaimAsync"/>.
    /// </summary>
    public async Task<ListenerHandover> HandOverListenersAsync()
    {
        Draining = true;
        Log.DrainStarted(Logger, LocalEndPoint, "handing the listeners to a successor", CanKeepSessions);
        List<HandedOverDatagram>[] backlog = await Task.WhenAll(_loops.Select(loop => loop.BeginDrain(DrainMode.ToSuccessor))).ConfigureAwait(false);
        return new ListenerHandover([.. _listeners!.Listeners.Select(listener => listener.Socket)], _listeners.Steered, backlog);
    }

    /// <summary>The successor has the listeners: this process's copies (and its sending twins) are closed.</summary>
    public void ReleaseHandedOver()
    {
        foreach (LinuxListener listener in _listeners!.Listeners)
        {
            listener.Dispose();
        }

        LogNotKept();
    }

    /// <summary>The successor failed before it took the listeners: they are served here again, new peers included.</summary>
    public async Task ReclaimAsync(ListenerHandover handover)
    {
        Draining = false;
        await Task.WhenAll(_loops.Select(loop => loop.ReclaimListenerAsync(handover.Backlog[loop.Index]))).ConfigureAwait(false);
    }

    /// <summary>
    /// Drains without a successor: the same promotions, then every sending twin leaves the group (they never hold
    /// traffic, and closing them first moves no listener), then every listener leaves the port (see
    /// <see cref="EpollLoop.RetireListenerAsync"/>).
    /// </summary>
    public async Task LeavePortAsync()
    {
        Draining = true;
        Log.DrainStarted(Logger, LocalEndPoint, "leaving the port", CanKeepSessions);
        await Task.WhenAll(_loops.Select(loop => loop.BeginDrain(DrainMode.Leaving))).ConfigureAwait(false);
        foreach (LinuxListener listener in _listeners!.Listeners)
        {
            listener.CloseSender();
        }

        await Task.WhenAll(_loops.Select(loop => loop.RetireListenerAsync())).ConfigureAwait(false);
        LogNotKept();
    }

    private void LogNotKept()
    {
        ServerStatistics statistics = GetStatistics();
        Log.ListenersLetGo(Logger, LocalEndPoint, statistics.SessionsKeptForDrain, statistics.SessionsNotKept, statistics.DatagramsHandedOver,
            CanKeepSessions ? "no fd, or a route from another address" : WhyNoSessionSockets);
    }

    private string WhyNoSessionSockets =>
        !s_hasFourTupleHash ? $"Linux {Environment.OSVersion.Version} has no 4-tuple hash (6.13+)"
        : _listeners!.IsWildcard && !_listeners.Local.IsIPv6 ? "IPv4 wildcard listener"
        : !_listeners.ReusePort ? "listener without SO_REUSEPORT"
        : "wildcard listener on a shared port";
}

/// <summary>Listeners on their way to a successor: sockets in index order, whether the group is steered, and each listener's diverted datagrams.</summary>
internal sealed record ListenerHandover(IReadOnlyList<SafeFdHandle> Sockets, bool Steered, List<HandedOverDatagram>[] Backlog);
