using System.Net;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests;

/// <summary>
/// Another user cannot take the server's port. Linux lets a socket bind an address and port held by sockets that all
/// set SO_REUSEADDR, whoever owns them, and the newest socket then gets the new peers; SO_REUSEPORT sharing is limited
/// to the same user. The attacker here is a real process of another uid (nobody, via setpriv) running socat, which
/// tries to bind the server's port and then listens; the server must keep every new peer.
/// </summary>
public class PortHijackTests
{
    public static TheoryData<TestEngine, string, string, string> Cases()
    {
        var data = new TheoryData<TestEngine, string, string, string>();
        foreach (TestEngine engine in Enum.GetValues<TestEngine>())
        {
            foreach ((string listenOn, string attackOn) in new[] { ("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "127.0.0.1"), ("::", "127.0.0.1"), ("::", "::1") })
            {
                foreach (string options in new[] { "reuseaddr", "reuseport", "reuseaddr,reuseport" })
                {
                    data.Add(engine, listenOn, attackOn, options);
                }
            }
        }

        return data;
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Cases))]
    public async Task Another_user_cannot_bind_the_port_or_take_new_peers(TestEngine engine, string listenOn, string attackOn, string socketOptions)
    {
        using CancellationTokenSource timeout = TestTimeout.After(30, TestContext.Current.CancellationToken);
        var handler = new RecordingHandler();
        await using SessionServer server = await SessionServer.StartAsync(
            TestEngines.Options(engine, new IPEndPoint(IPAddress.Parse(listenOn), 0)), handler, cancellationToken: timeout.Token);
        int port = server.LocalEndPoint.Port;

        // Some established sessions first: with a socket of their own they would survive a hijack, new peers not.
        var target = new IPEndPoint(IPAddress.Parse(attackOn), port);
        using var established = new ClientGroup(target, 20, idBase: 0);
        int sent = established.EchoRounds(0, 1, 20, timeout.Token);

        bool ipv6 = target.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        string address = ipv6 ? $"[{attackOn}]" : attackOn;
        using ExternalProgram attacker = ExternalProgram.Start("setpriv", "util-linux (setpriv) and socat", "--reuid=65534", "--regid=65534", "--clear-groups",
            "socat", "-u", $"{(ipv6 ? "UDP6" : "UDP4")}-RECV:{port},bind={address},{socketOptions}", "STDOUT");
        bool exited = attacker.WaitForExit(TimeSpan.FromSeconds(2));

        // 200 new peers: every one must reach the server, none the attacker.
        using var newPeers = new ClientGroup(target, 200, idBase: 1_000) { Diagnostics = () => $"{server.GetStatistics()}; attacker: {attacker}" };
        sent += newPeers.EchoRounds(0, 1, 50, timeout.Token);
        sent += established.EchoRounds(1, 1, 20, timeout.Token);

        Assert.True(exited, $"the attacker's socat (uid 65534, {socketOptions}) is still running: it bound {address}:{port}. {attacker}");
        Assert.NotEqual(0, attacker.ExitCode);
        Assert.Contains("Address already in use", attacker.Error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, attacker.Output);
        // Every new peer (and every established one) has its session with all of its datagrams. (Counting the server's
        // totals exactly would also count strangers: a port picked at random may still get datagrams meant for the
        // previous owner.)
        ServerStatistics stats = await ServerChecks.AccountedAsync(server);
        Assert.True(stats.DatagramsReceived >= sent, $"{stats}");
        Dictionary<IPEndPoint, List<SessionRecord>> byRemote = handler.ByRemote();
        foreach ((ClientGroup group, int datagrams) in new[] { (established, 2), (newPeers, 1) })
        {
            for (int i = 0; i < group.Count; i++)
            {
                SessionRecord record = Assert.Single(byRemote[Endpoints.Normalize(group.LocalEndPoint(i))]);
                Assert.Equal(datagrams, record.Datagrams);
            }
        }
    }
}
