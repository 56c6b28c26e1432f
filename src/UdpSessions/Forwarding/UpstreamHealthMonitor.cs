using System.Net.Sockets;

namespace UdpSessions.Forwarding;

/// <summary>
/// The forwarder's health decisions that are not made by a datagram: the passive "no reply" window and the retry of
/// passively failed upstreams (a timer on the thread pool), and active probes (one loop per upstream, each with a
/// socket of its own). ICMP errors are seen by the sessions' sockets themselves (<see cref="ForwardedSession"/>).
/// </summary>
internal sealed class UpstreamHealthMonitor : IAsyncDisposable
{
    private readonly ForwardingHandler _forwarder;
    private readonly UpstreamHealthOptions _options;
    private readonly Timer _timer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<Upstream, Task> _probes = [];
    private readonly Lock _probesLock = new();

    public UpstreamHealthMonitor(ForwardingHandler forwarder)
    {
        _forwarder = forwarder;
        _options = forwarder.Options.Health;
        double window = _options.UnansweredWindow == Timeout.InfiniteTimeSpan ? double.MaxValue : _options.UnansweredWindow.TotalMilliseconds;
        TimeSpan period = TimeSpan.FromMilliseconds(Math.Clamp(Math.Min(window, _options.RetryAfter.TotalMilliseconds) / 4, 10, 250));
        _timer = new Timer(_ => CheckPassive(), null, period, period);
        StartProbes();
    }

    /// <summary>Starts probing upstreams that have no probe yet (called again after one is added).</summary>
    public void StartProbes()
    {
        if (_options.Probe is null)
        {
            return;
        }

        lock (_probesLock)
        {
            foreach (Upstream upstream in _forwarder.Set.Members)
            {
                if (!_probes.ContainsKey(upstream))
                {
                    _probes[upstream] = Task.Run(() => ProbeAsync(upstream, _options.Probe, _stop.Token));
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _timer.DisposeAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        Task[] probes;
        lock (_probesLock)
        {
            probes = [.. _probes.Values];
        }

        await Task.WhenAll(probes).ConfigureAwait(false);
        _stop.Dispose();
    }

    private void CheckPassive()
    {
        long now = Environment.TickCount64;
        long window = _options.UnansweredWindow == Timeout.InfiniteTimeSpan ? long.MaxValue : (long)_options.UnansweredWindow.TotalMilliseconds;
        foreach (Upstream upstream in _forwarder.Set.Members)
        {
            if (upstream.IsHealthy)
            {
                if (_forwarder.WatchesReplies && upstream.IsUnansweredFor(now, window))
                {
                    _forwarder.MarkUnhealthy(upstream, UpstreamHealthChange.NoReply);
                }
            }
            else if (_options.Probe is null && now - upstream.UnhealthySince >= (long)_options.RetryAfter.TotalMilliseconds)
            {
                _forwarder.MarkHealthy(upstream, UpstreamHealthChange.RetryElapsed);
            }
        }
    }

    /// <summary>Probes one upstream every interval until the forwarder stops or the upstream is removed.</summary>
    private async Task ProbeAsync(Upstream upstream, UpstreamProbeOptions probe, CancellationToken stop)
    {
        byte[] reply = new byte[SessionServerOptions.MaxUdpPayload + 1];
        using var timer = new PeriodicTimer(probe.Interval);
        Socket? socket = null;
        try
        {
            do
            {
                if (upstream.IsRemoved)
                {
                    return;
                }

                socket ??= Connect(upstream);
                bool answered = socket is not null && await ProbeOnceAsync(socket, probe, reply, stop).ConfigureAwait(false);
                if (answered)
                {
                    _forwarder.MarkHealthy(upstream, UpstreamHealthChange.ProbeAnswered);
                }
                else if (!stop.IsCancellationRequested)
                {
                    _forwarder.MarkUnhealthy(upstream, UpstreamHealthChange.ProbeFailed);
                    socket?.Dispose(); // a fresh socket next time: no late reply of this probe can answer the next one
                    socket = null;
                }
            }
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            ForwarderLog.ProbeFailed(_forwarder.Logger, upstream.Name, exception);
        }
        finally
        {
            socket?.Dispose();
        }
    }

    private static Socket? Connect(Upstream upstream)
    {
        var socket = new Socket(upstream.EndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Connect(upstream.EndPoint);
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    private static async Task<bool> ProbeOnceAsync(Socket socket, UpstreamProbeOptions probe, byte[] reply, CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(probe.Timeout);
        try
        {
            await socket.SendAsync(probe.Payload, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            while (true)
            {
                int length = await socket.ReceiveAsync(reply, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (probe.ExpectedReply is null || reply.AsSpan(0, length).SequenceEqual(probe.ExpectedReply))
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false; // no (right) reply in time
        }
        catch (SocketException)
        {
            return false; // ICMP port unreachable, among others
        }
    }
}
