using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>Decides from a datagram whether the handler throws.</summary>
public delegate bool DatagramPredicate(ReadOnlySpan<byte> datagram);

/// <summary>
/// An echo handler that records, per session, what it saw: datagram count and lengths, the client ids embedded in
/// the datagrams (first 4 bytes, see <see cref="ClientGroup.Payload"/>), and how and how often the session closed.
/// </summary>
public sealed class RecordingHandler : SessionHandler
{
    private int _sendFailures;
    private int _duplicateAccepts;

    /// <summary>Every session accepted, by id.</summary>
    public ConcurrentDictionary<long, SessionRecord> Sessions { get; } = new();

    /// <summary>Echo each datagram back (default true).</summary>
    public bool Echo { get; init; } = true;

    /// <summary>When set, only sessions it returns true for are echoed to (e.g. not peers that are gone already).</summary>
    public Func<Session, bool>? EchoFor { get; init; }

    /// <summary>When it returns true for a datagram, OnDatagram throws (after recording it, before echoing).</summary>
    public DatagramPredicate? ThrowWhen { get; init; }

    /// <summary>Echo sends that returned false.</summary>
    public int SendFailures => Volatile.Read(ref _sendFailures);

    /// <summary>OnSessionAccepted calls for a session id seen before (must stay 0).</summary>
    public int DuplicateAccepts => Volatile.Read(ref _duplicateAccepts);

    public override void OnSessionAccepted(Session session)
    {
        var record = new SessionRecord(session);
        session.UserState = record;
        if (!Sessions.TryAdd(session.Id, record))
        {
            Interlocked.Increment(ref _duplicateAccepts);
        }
    }

    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
    {
        var record = (SessionRecord)session.UserState!;
        record.Received(datagram);
        if (ThrowWhen is { } predicate && predicate(datagram))
        {
            throw new InvalidOperationException("Test handler: thrown on purpose for this datagram.");
        }

        if (Echo && (EchoFor is null || EchoFor(session)) && !session.Send(datagram))
        {
            Interlocked.Increment(ref _sendFailures);
        }
    }

    public override void OnSessionClosed(Session session, SessionCloseReason reason) =>
        ((SessionRecord)session.UserState!).Closed(reason);

    /// <summary>The sessions by remote endpoint (IPv4-mapped addresses normalized to IPv4), oldest first.</summary>
    public Dictionary<IPEndPoint, List<SessionRecord>> ByRemote()
    {
        var map = new Dictionary<IPEndPoint, List<SessionRecord>>();
        foreach (SessionRecord record in Sessions.Values.OrderBy(r => r.Session.Id))
        {
            IPEndPoint key = Endpoints.Normalize(record.Session.RemoteEndPoint);
            if (!map.TryGetValue(key, out List<SessionRecord>? list))
            {
                map[key] = list = [];
            }

            list.Add(record);
        }

        return map;
    }

    /// <summary>The only session of <paramref name="remote"/>; fails if there is none or more than one.</summary>
    public SessionRecord SessionOf(IPEndPoint remote)
    {
        IPEndPoint key = Endpoints.Normalize(remote);
        SessionRecord[] found = Sessions.Values.Where(r => Endpoints.Normalize(r.Session.RemoteEndPoint).Equals(key)).ToArray();
        Assert.True(found.Length == 1, $"expected exactly one session for {remote}, found {found.Length}");
        return found[0];
    }
}

/// <summary>What <see cref="RecordingHandler"/> saw of one session.</summary>
public sealed class SessionRecord(Session session)
{
    private const int MaxLengthsKept = 64;
    private readonly Lock _lock = new();
    private readonly List<int> _clientIds = [];
    private readonly List<int> _lengths = [];
    private readonly TaskCompletionSource<SessionCloseReason> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _datagrams;
    private int _closeCallbacks;

    public Session Session { get; } = session;

    /// <summary>Datagrams delivered to OnDatagram.</summary>
    public int Datagrams => Volatile.Read(ref _datagrams);

    /// <summary>OnSessionClosed calls (must be 0 or 1).</summary>
    public int CloseCallbacks => Volatile.Read(ref _closeCallbacks);

    /// <summary>The reason given to OnSessionClosed, or null before it ran.</summary>
    public SessionCloseReason? ClosedWith { get; private set; }

    /// <summary>Stopwatch timestamp of OnSessionClosed.</summary>
    public long ClosedAt { get; private set; }

    /// <summary>Completes with the close reason when OnSessionClosed runs.</summary>
    public Task<SessionCloseReason> ClosedTask => _closed.Task;

    /// <summary>Distinct client ids seen in this session's datagrams, in order of first appearance.</summary>
    public int[] ClientIds
    {
        get
        {
            lock (_lock)
            {
                return [.. _clientIds];
            }
        }
    }

    /// <summary>Lengths of the first 64 datagrams.</summary>
    public int[] Lengths
    {
        get
        {
            lock (_lock)
            {
                return [.. _lengths];
            }
        }
    }

    internal void Received(ReadOnlySpan<byte> datagram)
    {
        lock (_lock)
        {
            if (_lengths.Count < MaxLengthsKept)
            {
                _lengths.Add(datagram.Length);
            }

            if (datagram.Length >= 4)
            {
                int id = BinaryPrimitives.ReadInt32LittleEndian(datagram);
                if (!_clientIds.Contains(id))
                {
                    _clientIds.Add(id);
                }
            }
        }

        Interlocked.Increment(ref _datagrams);
    }

    internal void Closed(SessionCloseReason reason)
    {
        ClosedAt = Stopwatch.GetTimestamp();
        ClosedWith = reason;
        Interlocked.Increment(ref _closeCallbacks);
        _closed.TrySetResult(reason);
    }

    public override string ToString() =>
        $"{Session} datagrams={Datagrams} clientIds=[{string.Join(",", ClientIds)}] closed={ClosedWith?.ToString() ?? "no"} x{CloseCallbacks}";
}

/// <summary>Endpoint helpers.</summary>
public static class Endpoints
{
    /// <summary>IPv4-mapped IPv6 endpoints as plain IPv4 (how a dual-stack server sees an IPv4 client).</summary>
    public static IPEndPoint Normalize(IPEndPoint endPoint) =>
        endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
}
