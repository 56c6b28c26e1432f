using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Forwarding;

/// <summary>
/// Real programs on either side of the forwarder: a socat echo (fork mode) and the benchmarks' C echo as the upstream
/// of verified clients, iperf (iperf2, pure UDP) client and server, and dnsperf against unbound serving a zone the test
/// writes. CI installs them (.ci/run); a missing one fails the test.
/// </summary>
public partial class RealPeerTests
{
    [Fact(Timeout = 90_000)]
    public async Task Verified_clients_through_the_forwarder_to_a_socat_echo_one_many_and_churning()
    {
        using CancellationTokenSource timeout = TestTimeout.After(60, TestContext.Current.CancellationToken);
        int port = FreeUdpPort();
        using ExternalProgram socat = ExternalProgram.Start("socat", "socat", "-T", "5", $"UDP4-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", "PIPE");
        var upstream = new IPEndPoint(IPAddress.Loopback, port);
        await WaitForEchoAsync(upstream, socat, timeout.Token);
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(Forwarders.Options(TestEngine.EpollAdaptive, upstream), cancellationToken: timeout.Token);
        string Describe() => $"{Forwarders.Describe(forwarder)}; socat: {socat}";

        using var one = new ClientGroup(forwarder.LocalEndPoint, 1) { Diagnostics = Describe };
        int sent = Establish(one, 0);
        sent += one.EchoRounds(1, 100, 1, timeout.Token);
        // socat's fork mode has no answer to the accept race: after forking a child for a new peer it binds the port
        // again, and a new peer's datagram that arrives before that is answered with ICMP (or lands on another child).
        // So each new upstream session is established alone and its first datagram sent again until answered; from
        // then on every datagram must come back, with the established sessions driven in parallel.
        using var many = new ClientGroup(forwarder.LocalEndPoint, 100, idBase: 100) { Diagnostics = Describe };
        sent += Establish(many, 0);
        sent += many.EchoRounds(1, 3, 100, timeout.Token);
        for (int wave = 0; wave < 3; wave++)
        {
            using var churn = new ClientGroup(forwarder.LocalEndPoint, 30, idBase: 1_000 + (wave * 30)) { Diagnostics = Describe };
            sent += Establish(churn, 0);
            sent += churn.EchoRounds(1, 2, 30, timeout.Token);
        }

        ForwarderStatistics stats = await Forwarders.AccountedAsync(forwarder, sent);
        Assert.Equal(0, stats.DatagramsDropped); // what socat lost in its fork window, the forwarder did not
        Assert.False(socat.HasExited, socat.ToString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Verified_clients_through_the_forwarder_to_a_C_echo_one_five_thousand_and_churning()
    {
        using CancellationTokenSource timeout = TestTimeout.After(90, TestContext.Current.CancellationToken);
        const int Many = 5_000, Waves = 4, ClientsPerWave = 250;
        string directory = Directory.CreateTempSubdirectory("udps-c-echo-").FullName;
        try
        {
            int port = FreeUdpPort();
            using ExternalProgram echo = ExternalProgram.Start(BuildCEcho(directory), "gcc", port.ToString(CultureInfo.InvariantCulture));
            echo.WaitForOutput("listening", TimeSpan.FromSeconds(10));
            UdpForwarderOptions options = Forwarders.Options(TestEngine.EpollAdaptive, new IPEndPoint(IPAddress.Loopback, port));
            options.Server.IdleTimeout = TimeSpan.FromSeconds(2); // longer than a round of 5,000, short enough to see the churn close
            await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);
            string Describe() => $"{Forwarders.Describe(forwarder)}; C echo: {echo}";

            using var one = new ClientGroup(forwarder.LocalEndPoint, 1) { Diagnostics = Describe };
            int sent = one.EchoRounds(0, 200, 1, timeout.Token);
            using var many = new ClientGroup(forwarder.LocalEndPoint, Many, idBase: 100) { Diagnostics = Describe };
            sent += many.EchoRounds(0, 3, 250, timeout.Token);
            // Each wave's clients fall silent when the next one starts; their sockets stay open until the end, so that no
            // later client reuses a departed one's port.
            var waves = new List<ClientGroup>();
            try
            {
                for (int wave = 0; wave < Waves; wave++)
                {
                    waves.Add(new ClientGroup(forwarder.LocalEndPoint, ClientsPerWave, idBase: 10_000 + (wave * ClientsPerWave)) { Diagnostics = Describe });
                    sent += waves[^1].EchoRounds(0, 2, ClientsPerWave, timeout.Token);
                }

                one.AssertNothingPending(TimeSpan.FromMilliseconds(20));
                many.AssertNothingPending(TimeSpan.FromMilliseconds(20));
                waves.ForEach(clients => clients.AssertNothingPending(TimeSpan.Zero));
            }
            finally
            {
                waves.ForEach(clients => clients.Dispose());
            }

            ForwarderStatistics stats = await Forwarders.AccountedAsync(forwarder, sent);
            const int Sessions = 1 + Many + (Waves * ClientsPerWave);
            Assert.Equal(0, stats.DatagramsDropped);
            Assert.Equal(Sessions, stats.Server.SessionsAccepted);
            Assert.Equal(Sessions, stats.UpstreamSessionsOpened);
            await Eventually.TrueAsync(() => forwarder.GetStatistics() is { UpstreamSessionsActive: 0, Server.ActiveSessions: 0 }, Describe,
                cancellationToken: timeout.Token);
            Assert.Equal(Sessions, forwarder.GetStatistics().UpstreamSessionsClosed);
            Assert.False(echo.HasExited, echo.ToString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task Iperf_over_udp_through_the_forwarder_loses_nothing()
    {
        using CancellationTokenSource timeout = TestTimeout.After(60, TestContext.Current.CancellationToken);
        int port = FreeUdpPort();
        using ExternalProgram server = ExternalProgram.Start("iperf", "iperf", "-s", "-u", "-B", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-e", "-w", "4M");
        await Task.Delay(300, timeout.Token); // iperf prints nothing when it is ready; its socket is bound at once
        UdpForwarderOptions options = Forwarders.Options(TestEngine.EpollAdaptive, new IPEndPoint(IPAddress.Loopback, port));
        options.UpstreamReceiveBufferSize = 4 << 20;
        await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);

        KernelUdpCounters kernelBefore = KernelUdpCounters.Read();
        using ExternalProgram client = ExternalProgram.Start("iperf", "iperf", "-c", "127.0.0.1", "-u", "-p", forwarder.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture),
            "-b", "40M", "-t", "3", "-e", "-w", "4M");
        Assert.True(client.WaitForExit(TimeSpan.FromSeconds(30)), client.ToString());
        Assert.True(client.ExitCode == 0, client.ToString());

        // The server's report travels back through the forwarder: "0/10203 (0%)" is lost/total as the server counted them.
        Match report = IperfLoss().Match(client.Output);
        Assert.True(report.Success, $"no server report: {client}; {Forwarders.Describe(forwarder)}; server: {server}");
        long lost = long.Parse(report.Groups["lost"].Value, CultureInfo.InvariantCulture);
        long total = long.Parse(report.Groups["total"].Value, CultureInfo.InvariantCulture);
        Assert.True(lost == 0 && total > 1_000,
            $"iperf lost {lost} of {total} (kernel receive-buffer overflows meanwhile: {KernelUdpCounters.Read().RcvbufErrors - kernelBefore.RcvbufErrors}): {client}; {Forwarders.Describe(forwarder)}");
        Assert.Equal(0, forwarder.GetStatistics().DatagramsDropped);
    }

    [Fact(Timeout = 90_000)]
    public async Task Dnsperf_through_the_forwarder_to_unbound_completes_every_query()
    {
        using CancellationTokenSource timeout = TestTimeout.After(60, TestContext.Current.CancellationToken);
        const int Names = 500;
        string directory = Directory.CreateTempSubdirectory("udps-unbound-").FullName;
        try
        {
            int port = FreeUdpPort();
            string config = Path.Combine(directory, "unbound.conf");
            string queries = Path.Combine(directory, "queries.txt");
            await File.WriteAllLinesAsync(config, UnboundConfig(directory, port, Names), timeout.Token);
            await File.WriteAllLinesAsync(queries, Enumerable.Range(0, Names).Select(i => $"h{i}.forward.test A"), timeout.Token);
            using ExternalProgram unbound = ExternalProgram.Start("unbound", "unbound", "-d", "-c", config);
            await Eventually.TrueAsync(() => unbound.Error.Contains("start of service", StringComparison.Ordinal) || unbound.HasExited,
                () => unbound.ToString(), cancellationToken: timeout.Token);
            Assert.False(unbound.HasExited, unbound.ToString());

            UdpForwarderOptions options = Forwarders.Options(TestEngine.EpollAdaptive, new IPEndPoint(IPAddress.Loopback, port));
            options.ResponsesPerRequest = 1; // DNS: one query, one answer, then the session is done
            options.Server.IdleTimeout = TimeSpan.FromSeconds(5);
            await using UdpForwarder forwarder = await UdpForwarder.StartAsync(options, cancellationToken: timeout.Token);

            using ExternalProgram dnsperf = ExternalProgram.Start("dnsperf", "dnsperf", "-s", "127.0.0.1", "-p", forwarder.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture),
                "-d", queries, "-n", "6", "-c", "20", "-Q", "3000", "-t", "3");
            Assert.True(dnsperf.WaitForExit(TimeSpan.FromSeconds(40)), dnsperf.ToString());
            string output = dnsperf.Output;
            long Stat(string name) => long.Parse(Regex.Match(output, $@"{name}:\s+(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.True(dnsperf.ExitCode == 0 && output.Contains("Queries sent:", StringComparison.Ordinal), dnsperf.ToString());
            Assert.Equal(6 * Names, Stat("Queries sent"));
            Assert.True(Stat("Queries completed") == 6 * Names && Stat("Queries lost") == 0, $"{output}; {Forwarders.Describe(forwarder)}");
            Assert.Contains("NOERROR 3000 (100.00%)", output, StringComparison.Ordinal);

            ForwarderStatistics stats = forwarder.GetStatistics();
            Assert.Equal(0, stats.DatagramsDropped);
            Assert.Equal(6 * Names, stats.ResponsesForwarded);
            Assert.True(stats.SessionsCompleted > 20, stats.ToString()); // sessions end when answered and start again
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Each client in turn sends message <paramref name="sequence"/> until it is echoed; returns the datagrams sent.</summary>
    private static int Establish(ClientGroup clients, int sequence)
    {
        int sent = 0;
        for (int i = 0; i < clients.Count; i++)
        {
            byte[] expected = ClientGroup.Payload(clients.ClientId(i), sequence);
            bool answered = false;
            for (int attempt = 0; attempt < 10 && !answered; attempt++)
            {
                clients.Send(i, expected);
                sent++;
                answered = clients.TryReceive(i, TimeSpan.FromMilliseconds(500)) is { } reply && reply.AsSpan().SequenceEqual(expected);
            }

            Assert.True(answered, $"client {clients.ClientId(i)} never got through: {clients.Diagnostics?.Invoke()}");
        }

        return sent;
    }

    /// <summary>unbound as a plain authoritative-style server: one thread, UDP only, a static local zone of A records.</summary>
    private static IEnumerable<string> UnboundConfig(string directory, int port, int names) =>
    [
        "server:",
        $"  interface: 127.0.0.1@{port}",
        $"  port: {port}",
        "  do-daemonize: no",
        "  chroot: \"\"",
        "  username: \"\"",
        $"  directory: \"{directory}\"",
        "  pidfile: \"\"",
        "  use-syslog: no",
        "  do-ip6: no",
        "  do-tcp: no",
        "  num-threads: 1",
        "  so-rcvbuf: 4m",
        "  access-control: 127.0.0.0/8 allow",
        "  local-zone: \"forward.test.\" static",
        .. Enumerable.Range(0, names).Select(i => $"  local-data: \"h{i}.forward.test. 60 IN A 10.0.{i / 250}.{i % 250}\""),
    ];

    /// <summary>Sends to an echo until it answers (socat takes a moment to start listening).</summary>
    private static async Task WaitForEchoAsync(IPEndPoint echo, ExternalProgram process, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(echo);
        byte[] reply = new byte[16];
        for (int attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                socket.Send("ready?"u8);
                if (socket.Poll(100_000, SelectMode.SelectRead) && socket.Receive(reply) > 0)
                {
                    return;
                }
            }
            catch (SocketException)
            {
                // not listening yet: ICMP port unreachable, reported on the next call
            }

            await Task.Delay(20, cancellationToken);
        }

        Assert.Fail($"the echo never answered: {process}");
    }

    /// <summary>Compiles the benchmarks' C echo (bench/reference/echo_mmsg.c: recvmmsg/sendmmsg, one socket) into <paramref name="directory"/>.</summary>
    private static string BuildCEcho(string directory)
    {
        DirectoryInfo? root = new(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "bench", "reference", "echo_mmsg.c")))
        {
            root = root.Parent;
        }

        Assert.True(root is not null, $"bench/reference/echo_mmsg.c not found above {AppContext.BaseDirectory}");
        string program = Path.Combine(directory, "echo_mmsg");
        using ExternalProgram gcc = ExternalProgram.Start("gcc", "gcc", "-O2", "-Wall", "-o", program, Path.Combine(root.FullName, "bench", "reference", "echo_mmsg.c"));
        Assert.True(gcc.WaitForExit(TimeSpan.FromSeconds(60)) && gcc.ExitCode == 0, gcc.ToString());
        return program;
    }

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    [GeneratedRegex(@"(?<lost>\d+)/(?<total>\d+) \(")]
    private static partial Regex IperfLoss();
}
