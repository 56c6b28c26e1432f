using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// OnSessionClosing and Close(reason, goodbye): a closing session can still send, whatever closes it, and what it
/// sends has left the server before the session is gone (counted as sent by the time OnSessionClosed runs) and
/// reaches the peer.
/// </summary>
public class GoodbyeTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task An_idle_session_says_goodbye_before_it_is_gone(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new GoodbyeHandler();
        SessionServerOptions options = TestEngines.Options(engine);
        options.IdleTimeout = TimeSpan.FromMilliseconds(300);
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: timeout.Token);
        using var client = new ClientGroup(server.LocalEndPoint, 1) { Diagnostics = () => server.GetStatistics().ToString() };

        client.EchoRounds(0, 1, batchSize: 1, timeout.Token);
        client.ExpectReply(0, GoodbyeHandler.Bye(SessionCloseReason.IdleTimeout, null));
        Closing record = await handler.ClosedOnce(timeout.Token);
        Assert.Equal(SessionCloseReason.IdleTimeout, record.Reason);
        AssertGoneAfterGoodbye(record, sentBeforeGoodbye: 1);
        client.AssertNothingPending(TimeSpan.FromMilliseconds(20));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task An_application_close_with_a_reason_sends_its_goodbye_and_reports_the_reason(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new GoodbyeHandler();
        await using SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using Meter meter = UdpSessionsMetrics.Publish(server);
        using var closedMetric = new MetricCollector<long>(meter, "udpsessions.sessions.closed");
        using var clients = new ClientGroup(server.LocalEndPoint, 3) { Diagnostics = () => server.GetStatistics().ToString() };
        clients.EchoRounds(0, 1, batchSize: 3, timeout.Token);
        Session Of(int client) => server.Sessions.Single(s => Endpoints.Normalize(s.RemoteEndPoint).Equals(clients.LocalEndPoint(client)));

        // Kicked from another thread, with a final datagram: it arrives first, then what the closing hook sends.
        Session first = Of(0);
        await Task.Run(() => first.Close("kicked", "you were kicked"u8), timeout.Token);
        clients.ExpectReply(0, "you were kicked"u8.ToArray());
        clients.ExpectReply(0, GoodbyeHandler.Bye(SessionCloseReason.ClosedByApplication, "kicked"));

        // Kicked by its own handler (on its I/O thread): the same.
        clients.Send(1, GoodbyeHandler.KickMe);
        clients.ExpectReply(1, "you were kicked"u8.ToArray());
        clients.ExpectReply(1, GoodbyeHandler.Bye(SessionCloseReason.ClosedByApplication, "kicked"));

        // A plain Close(): no application reason.
        Of(2).Close();
        clients.ExpectReply(2, GoodbyeHandler.Bye(SessionCloseReason.ClosedByApplication, null));

        await Eventually.TrueAsync(() => handler.Closed.Count == 3, () => $"{handler.Closed.Count} closed", cancellationToken: timeout.Token);
        Assert.Equal(["kicked", "kicked", null], handler.Closed.OrderBy(c => c.ApplicationReason is null).Select(c => c.ApplicationReason));
        Assert.All(handler.Closed, c => Assert.Equal(SessionCloseReason.ClosedByApplication, c.Reason));
        Assert.All(handler.Closed, c => AssertGoneAfterGoodbye(c, sentBeforeGoodbye: c.ApplicationReason is null ? 1 : 2));
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));

        ServerStatistics stats = server.GetStatistics();
        Assert.Equal(3, stats.GetClosed(SessionCloseReason.ClosedByApplication));
        Assert.Equal(new Dictionary<string, long> { ["kicked"] = 2 }, stats.ApplicationCloseReasons);

        // Metrics: closed_by_application split by detail, adding up to its total.
        closedMetric.RecordObservableInstruments();
        CollectedMeasurement<long>[] byApplication = [.. closedMetric.GetMeasurementSnapshot()
            .Where(m => (string?)m.Tags["udpsessions.close.reason"] == "closed_by_application")];
        Assert.Equal(2, byApplication.Single(m => m.Tags.TryGetValue("udpsessions.close.detail", out object? d) && (string?)d == "kicked").Value);
        Assert.Equal(1, byApplication.Single(m => !m.Tags.ContainsKey("udpsessions.close.detail")).Value);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(TestEngines.All), MemberType = typeof(TestEngines))]
    public async Task Every_session_says_goodbye_when_the_server_shuts_down(TestEngine engine)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        const int Count = 20;
        var handler = new GoodbyeHandler();
        SessionServer server = await SessionServer.StartAsync(TestEngines.Options(engine), handler, cancellationToken: timeout.Token);
        using var clients = new ClientGroup(server.LocalEndPoint, Count);
        clients.EchoRounds(0, 1, batchSize: Count, timeout.Token);

        await server.StopAsync(timeout.Token);
        for (int i = 0; i < Count; i++)
        {
            clients.ExpectReply(i, GoodbyeHandler.Bye(SessionCloseReason.ServerShutdown, null));
        }

        Assert.Equal(Count, handler.Closed.Count);
        Assert.All(handler.Closed, c => Assert.Equal(SessionCloseReason.ServerShutdown, c.Reason));
        Assert.All(handler.Closed, c => AssertGoneAfterGoodbye(c, sentBeforeGoodbye: 1));
        clients.AssertNothingPending(TimeSpan.FromMilliseconds(20));
    }

    /// <summary>
    /// The goodbye was sent in OnSessionClosing, had left (counted in the session's sent datagrams) by the time
    /// OnSessionClosed ran, and a send there, after the socket went away, was refused.
    /// </summary>
    private static void AssertGoneAfterGoodbye(Closing record, int sentBeforeGoodbye)
    {
        Assert.True(record.GoodbyeSent, "Send in OnSessionClosing returned false");
        Assert.False(record.IsOpenWhileClosing);
        Assert.Equal(sentBeforeGoodbye + 1, record.SentWhenClosed);
        Assert.False(record.SendAfterClose, "Send in OnSessionClosed went through");
    }

    /// <summary>What OnSessionClosing and OnSessionClosed saw of one session.</summary>
    private sealed record Closing(SessionCloseReason Reason, string? ApplicationReason, bool GoodbyeSent, bool IsOpenWhileClosing, long SentWhenClosed, bool SendAfterClose);

    /// <summary>Echoes; <see cref="KickMe"/> makes it kick the session itself. Every closing session sends <see cref="Bye"/>.</summary>
    private sealed class GoodbyeHandler : SessionHandler
    {
        public static readonly byte[] KickMe = "kick me"u8.ToArray();

        private readonly ConcurrentDictionary<Session, (bool Sent, bool IsOpen)> _closing = new();
        private readonly TaskCompletionSource<Closing> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<Closing> Closed { get; } = new();

        public static byte[] Bye(SessionCloseReason reason, string? applicationReason) => Encoding.ASCII.GetBytes($"bye {reason} {applicationReason}");

        public Task<Closing> ClosedOnce(CancellationToken cancellationToken) => _first.Task.WaitAsync(cancellationToken);

        public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram)
        {
            if (datagram.SequenceEqual(KickMe))
            {
                session.Close("kicked", "you were kicked"u8);
            }
            else
            {
                session.Send(datagram);
            }
        }

        public override void OnSessionClosing(Session session, SessionCloseReason reason) =>
            _closing[session] = (session.Send(Bye(reason, session.ApplicationCloseReason)), session.IsOpen);

        public override void OnSessionClosed(Session session, SessionCloseReason reason)
        {
            (bool sent, bool isOpen) = _closing[session];
            var record = new Closing(reason, session.ApplicationCloseReason, sent, isOpen, session.GetStatistics().DatagramsSent, session.Send([1]));
            Closed.Enqueue(record);
            _first.TrySetResult(record);
        }
    }
}
