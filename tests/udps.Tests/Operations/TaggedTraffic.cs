using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Cli.Tests.Operations;

/// <summary>
/// Verified traffic against <c>udps echo --tag X</c> servers: each flow is a client socket (a session) that sends a
/// numbered datagram, waits for its echo (tag + the same bytes) and sends the next. It records which server (tag)
/// answered every datagram of every flow, and counts replies lost (none within the timeout), late (after it),
/// misrouted (another flow's datagram), duplicated and corrupt. Steady flows run until stopped; churn flows send a few
/// datagrams each and are replaced by new sockets. Bounded: everything stops with <see cref="StopAsync"/>.
/// </summary>
internal sealed class TaggedTraffic
{
    private const int PayloadSize = 48;

    private readonly IPEndPoint _target;
    private readonly TimeSpan _replyTimeout;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _workers = [];
    private long _nextFlowId;
    private long _lost;
    private long _late;
    private long _misrouted;
    private long _duplicated;
    private long _corrupt;
    private long _replies;

    public TaggedTraffic(IPEndPoint target, TimeSpan replyTimeout)
    {
        _target = target;
        _replyTimeout = replyTimeout;
    }

    public IPEndPoint Target => _target;

    public ConcurrentBag<Flow> Steady { get; } = [];

    public ConcurrentBag<Flow> Churn { get; } = [];

    public long Lost => Interlocked.Read(ref _lost);

    public long Late => Interlocked.Read(ref _late);

    public long Misrouted => Interlocked.Read(ref _misrouted);

    public long Duplicated => Interlocked.Read(ref _duplicated);

    public long Corrupt => Interlocked.Read(ref _corrupt);

    public long Replies => Interlocked.Read(ref _replies);

    public static long Now => Stopwatch.GetTimestamp();

    public string Describe() =>
        $"steady={Steady.Count} churn={Churn.Count} replies={Replies} lost={Lost} late={Late} misrouted={Misrouted} duplicated={Duplicated} corrupt={Corrupt}";

    /// <summary>
    /// Churn flows on a port no earlier flow used. A flow that got the port of a closed one is, to a server that still
    /// holds that peer's session (until it idles out), the same peer: it continues that session wherever it is.
    /// </summary>
    public IEnumerable<Flow> FreshChurn()
    {
        var used = new HashSet<int>(Steady.Select(flow => flow.LocalPort));
        foreach (Flow flow in Churn.OrderBy(flow => flow.Id))
        {
            if (used.Add(flow.LocalPort))
            {
                yield return flow;
            }
        }
    }

    /// <summary>Opens <paramref name="count"/> flows that each send one datagram every <paramref name="period"/> until stopped.</summary>
    public async Task StartSteadyAsync(int count, TimeSpan period)
    {
        var ready = new List<Task>();
        for (int i = 0; i < count; i++)
        {
            var flow = new Flow(Interlocked.Increment(ref _nextFlowId));
            Steady.Add(flow);
            var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            ready.Add(first.Task);
            // Spread the flows over the period so the server sees steady traffic rather than bursts.
            TimeSpan offset = period * i / count;
            _workers.Add(Task.Run(() => RunFlowAsync(flow, int.MaxValue, period, offset, first)));
        }

        await Task.WhenAll(ready).WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary><paramref name="workers"/> loops that each open a flow, send <paramref name="datagrams"/> datagrams and close it, until stopped.</summary>
    public void StartChurn(int workers, int datagrams, TimeSpan pause)
    {
        for (int i = 0; i < workers; i++)
        {
            _workers.Add(Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    var flow = new Flow(Interlocked.Increment(ref _nextFlowId));
                    Churn.Add(flow);
                    await RunFlowAsync(flow, datagrams, pause, TimeSpan.Zero, null);
                }
            }));
        }
    }

    /// <summary>Stops every flow after the datagram it is waiting for (bounded by the reply timeout).</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_workers).WaitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task RunFlowAsync(Flow flow, int datagrams, TimeSpan period, TimeSpan offset, TaskCompletionSource? started)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(_target);
        flow.LocalPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
        byte[] payload = new byte[PayloadSize];
        byte[] reply = new byte[PayloadSize + 64];
        try
        {
            if (offset > TimeSpan.Zero)
            {
                await Task.Delay(offset, _stop.Token);
            }

            for (long sequence = 0; sequence < datagrams && !_stop.IsCancellationRequested; sequence++)
            {
                BinaryPrimitives.WriteInt64LittleEndian(payload, flow.Id);
                BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(8), sequence);
                payload.AsSpan(16).Fill((byte)(flow.Id + sequence));
                if (sequence == 0)
                {
                    flow.FirstSend = Now;
                }

                long sent = Now;
                await socket.SendAsync(payload, SocketFlags.None);
                await AwaitReplyAsync(socket, flow, sequence, sent, payload, reply);
                if (sequence == 0)
                {
                    started?.TrySetResult();
                }

                if (period > TimeSpan.Zero && sequence + 1 < datagrams)
                {
                    await Task.Delay(period, _stop.Token);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        finally
        {
            started?.TrySetResult();
        }
    }

    private async Task AwaitReplyAsync(Socket socket, Flow flow, long sequence, long sent, byte[] payload, byte[] reply)
    {
        long deadline = sent + (long)(_replyTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            long remaining = deadline - Now;
            if (remaining <= 0)
            {
                Interlocked.Increment(ref _lost);
                return;
            }

            int length;
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency)))
            {
                try
                {
                    length = await socket.ReceiveAsync(reply, SocketFlags.None, timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref _lost);
                    return;
                }
                catch (SocketException)
                {
                    Interlocked.Increment(ref _lost); // ICMP port unreachable: nobody served the port
                    return;
                }
            }

            if (length != PayloadSize + 1)
            {
                Interlocked.Increment(ref _corrupt);
                continue;
            }

            long id = BinaryPrimitives.ReadInt64LittleEndian(reply.AsSpan(1));
            long answered = BinaryPrimitives.ReadInt64LittleEndian(reply.AsSpan(9));
            if (id != flow.Id)
            {
                Interlocked.Increment(ref _misrouted);
                continue;
            }

            if (answered < sequence)
            {
                Interlocked.Increment(ref _late);
                continue;
            }

            if (answered > sequence || !reply.AsSpan(1, PayloadSize).SequenceEqual(payload))
            {
                Interlocked.Increment(ref _corrupt);
                continue;
            }

            if (!flow.Answer((char)reply[0], sequence, Now - sent))
            {
                Interlocked.Increment(ref _duplicated);
                continue;
            }

            Interlocked.Increment(ref _replies);
            return;
        }
    }

    /// <summary>One client socket: when it started, and which server answered each of its datagrams, when and how fast (Stopwatch ticks).</summary>
    internal sealed class Flow(long id)
    {
        private readonly Lock _lock = new();
        private readonly List<(long Time, char Tag, long RoundTrip)> _answers = [];
        private long _lastAnswered = -1;

        public long Id { get; } = id;

        public long FirstSend { get; set; }

        /// <summary>The client socket's port: the kernel may give a new flow the port of one closed before it.</summary>
        public int LocalPort { get; set; }

        public IReadOnlyList<(long Time, char Tag, long RoundTrip)> Answers
        {
            get
            {
                lock (_lock)
                {
                    return [.. _answers];
                }
            }
        }

        public string Tags => new([.. Answers.Select(answer => answer.Tag).Distinct().Order()]);

        /// <summary>Records the answer to <paramref name="sequence"/>; false when it was answered already.</summary>
        public bool Answer(char tag, long sequence, long roundTrip)
        {
            lock (_lock)
            {
                if (sequence <= _lastAnswered)
                {
                    return false;
                }

                _lastAnswered = sequence;
                _answers.Add((Now, tag, roundTrip));
                return true;
            }
        }
    }
}
