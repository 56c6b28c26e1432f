using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using UdpSessions.Hosting;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Hosting;

/// <summary>The hosting package's operations settings (docs/operations.md): a host stop that drains, and a restarted host that takes the port over.</summary>
public class HostedDrainTests
{
    [Fact(Timeout = 30_000)]
    public async Task With_DrainOnStop_stopping_the_host_serves_live_sessions_until_they_end_instead_of_closing_them()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "draining is the epoll engine's");
        using CancellationTokenSource timeout = TestTimeout.After(20, TestContext.Current.CancellationToken);
        using IHost host = TestHosts.Build(
            new() { ["UdpSessions:Address"] = "127.0.0.1", ["UdpSessions:DrainOnStop"] = "true", ["UdpSessions:DrainTimeout"] = "00:00:15", ["UdpSessions:IdleTimeout"] = "00:00:02" },
            (services, configuration) => services.AddUdpSessions<RecordingHandler>(configuration.GetSection(UdpSessionsOptions.SectionName)));
        await host.StartAsync(timeout.Token);
        SessionServer server = host.Services.GetRequiredService<SessionServer>();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Connect(server.LocalEndPoint);
        byte[] reply = new byte[16];
        client.Send("before"u8);
        Assert.Equal(6, await client.ReceiveAsync(reply, SocketFlags.None, timeout.Token));

        // The host stops (as on SIGTERM): the server drains, and the live session is still answered meanwhile.
        Task stopping = host.StopAsync(timeout.Token);
        while (!server.IsDraining)
        {
            await Task.Delay(10, timeout.Token);
        }

        client.Send("during"u8);
        Assert.Equal(6, await client.ReceiveAsync(reply, SocketFlags.None, timeout.Token));
        Assert.Equal("during"u8, reply.AsSpan(0, 6));
        await stopping;

        // The drain ended with the session's own end (idle), not with the server closing it.
        ServerStatistics statistics = server.GetStatistics();
        Assert.Equal(1, statistics.SessionsKeptForDrain);
        Assert.Equal(1, statistics.GetClosed(SessionCloseReason.IdleTimeout));
        Assert.Equal(0, statistics.GetClosed(SessionCloseReason.ServerShutdown));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_host_started_on_the_same_handover_path_takes_the_port_and_the_old_host_stops_once_its_sessions_ended()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "handover is the epoll engine's");
        using CancellationTokenSource timeout = TestTimeout.After(25, TestContext.Current.CancellationToken);
        string path = Path.Combine(Path.GetTempPath(), $"udps-host-handover-{Guid.NewGuid():N}.sock");
        Dictionary<string, string?> settings = new()
        {
            ["UdpSessions:Address"] = "127.0.0.1", ["UdpSessions:HandoverPath"] = path, ["UdpSessions:IdleTimeout"] = "00:00:01", ["UdpSessions:DrainTimeout"] = "00:00:15",
        };
        using IHost old = TestHosts.Build(settings, (services, configuration) => services.AddUdpSessions<RecordingHandler>(configuration.GetSection(UdpSessionsOptions.SectionName)));
        await old.StartAsync(timeout.Token);
        IPEndPoint endPoint = old.Services.GetRequiredService<SessionServer>().LocalEndPoint;
        using var existing = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        existing.Connect(endPoint);
        byte[] reply = new byte[16];
        existing.Send("one"u8);
        await existing.ReceiveAsync(reply, SocketFlags.None, timeout.Token);

        // The successor host takes the listeners; the existing peer stays with the old one, a new peer goes to the new.
        using IHost successor = TestHosts.Build(settings, (services, configuration) => services.AddUdpSessions<RecordingHandler>(configuration.GetSection(UdpSessionsOptions.SectionName)));
        await successor.StartAsync(timeout.Token);
        Assert.Equal(endPoint, successor.Services.GetRequiredService<SessionServer>().LocalEndPoint);
        existing.Send("two"u8);
        await existing.ReceiveAsync(reply, SocketFlags.None, timeout.Token);
        using var newcomer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        newcomer.Connect(endPoint);
        newcomer.Send("new"u8);
        await newcomer.ReceiveAsync(reply, SocketFlags.None, timeout.Token);

        RecordingHandler oldHandler = old.Services.GetRequiredService<RecordingHandler>(), newHandler = successor.Services.GetRequiredService<RecordingHandler>();
        Assert.Equal(2, Assert.Single(oldHandler.Sessions.Values).Datagrams);
        Assert.Equal(1, Assert.Single(newHandler.Sessions.Values).Datagrams);
        Assert.Equal(newcomer.LocalEndPoint, Assert.Single(newHandler.Sessions.Values).Session.RemoteEndPoint);

        // The old host stops by itself once its session idled out.
        CancellationToken oldStopping = old.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using (var stoppedOrTimedOut = CancellationTokenSource.CreateLinkedTokenSource(oldStopping, timeout.Token))
        {
            await Task.Delay(Timeout.Infinite, stoppedOrTimedOut.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        Assert.True(oldStopping.IsCancellationRequested, "the old host did not stop by itself");
        await old.StopAsync(timeout.Token);
        Assert.Equal(SessionCloseReason.IdleTimeout, Assert.Single(oldHandler.Sessions.Values).ClosedWith);
        await successor.StopAsync(timeout.Token);
    }
}
