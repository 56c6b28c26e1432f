using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Cli.Tests.Operations;

/// <summary>
/// Several <c>udps echo</c> processes on one port (<c>--shared-port</c>, like nginx workers): what the kernel does with
/// each client when a process joins or leaves, measured with real processes and tagged replies (docs/operations.md).
/// </summary>
public class SharedPortTests(ITestOutputHelper output)
{
    private const int Clients = 300;

    [Fact(Timeout = 120_000)]
    public async Task A_second_server_is_refused_a_servers_port_and_with_shared_port_joins_it_but_receives_nothing()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        using UdpsProcess first = StartEcho(0, "1", shared: false);
        int port = await first.WaitForUdpPortAsync(cancellationToken);
        (int exit, UdpsProcess refused) = await UdpsProcess.RunAsync(TimeSpan.FromSeconds(60), cancellationToken,
            "echo", "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--quiet");
        using (refused)
        {
            Assert.True(exit == 2, refused.ToString());
            Assert.Contains("Address already in use", refused.StandardError);
        }

        // --shared-port joins the group, but the first server's steering program only ever picks its own listeners:
        // the joiner gets no client at all (what a handover is for; docs/operations.md).
        using UdpsProcess joiner = StartEcho(port, "2", shared: true);
        await joiner.WaitForUdpPortAsync(cancellationToken);
        using var clients = new PingClients(new IPEndPoint(IPAddress.Loopback, port), 100);
        Assert.All(await clients.PingAllAsync(cancellationToken), tag => Assert.Equal("1", tag));
    }

    [Fact(Timeout = 120_000)]
    public async Task Processes_joining_and_leaving_a_shared_port_move_clients_as_the_kernel_hash_says_and_a_leaving_one_keeps_its_sessions()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        int port = FreeUdpPort();
        using UdpsProcess p1 = StartEcho(port, "1", shared: true);
        await p1.WaitForUdpPortAsync(cancellationToken);
        using var clients = new PingClients(new IPEndPoint(IPAddress.Loopback, port), Clients);
        string[] alone = await clients.PingAllAsync(cancellationToken);
        Assert.All(alone, tag => Assert.Equal("1", tag));

        using UdpsProcess p2 = StartEcho(port, "2", shared: true);
        await p2.WaitForUdpPortAsync(cancellationToken);
        string[] two = await clients.PingAllAsync(cancellationToken);
        Assert.Equal(two, await clients.PingAllAsync(cancellationToken)); // sticky while the group stays as it is
        int movedToNew = Moved(alone, two, "1", "2");
        Assert.InRange(movedToNew, 1, Clients - 1);

        using UdpsProcess p3 = StartEcho(port, "3", shared: true);
        await p3.WaitForUdpPortAsync(cancellationToken);
        string[] three = await clients.PingAllAsync(cancellationToken);
        int movedBetweenOld = Moved(two, three, "1", "2") + Moved(two, three, "2", "1");
        int movedToThird = three.Count(tag => tag == "3");
        output.WriteLine($"join 1->2 processes: {movedToNew} of {Clients} clients moved to the new process");
        output.WriteLine($"join 2->3 processes: {movedToThird} moved to the new process, {movedBetweenOld} moved between the two old ones, {Clients - movedToThird - movedBetweenOld} stayed");

        // The kernel hashes modulo the group's size: a join also moves clients between the processes already there.
        Assert.True(movedBetweenOld > 0, "expected some clients to move between the old processes");

        // Process 2 drains (SIGTERM): its sessions get sockets of their own and stay with it; its listener leaves the
        // group, so that no new client reaches it.
        p2.Terminate();
        await WaitForOutputAsync(p2, "draining", cancellationToken);
        await Task.Delay(500, cancellationToken);
        string[] draining = await clients.PingAllAsync(cancellationToken);
        Assert.All(Enumerable.Range(0, Clients).Where(i => three[i] == "2"), i => Assert.Equal("2", draining[i]));
        using (var newcomers = new PingClients(new IPEndPoint(IPAddress.Loopback, port), 100))
        {
            Assert.DoesNotContain("2", await newcomers.PingAllAsync(cancellationToken));
        }

        Assert.Equal(0, await p2.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken)); // its sessions idle out, then it stops
        Assert.Contains("keptOnOwnSocket=", p2.StandardOutput);
        string[] left = await clients.PingAllAsync(cancellationToken);
        int othersMoved = Enumerable.Range(0, Clients).Count(i => three[i] != "2" && left[i] != three[i]);
        output.WriteLine($"leave 3->2 processes: the leaver's {three.Count(tag => tag == "2")} clients kept their sessions while it drained, then went to {string.Join('/', left.Where((tag, i) => three[i] == "2").Distinct())}; {othersMoved} of the others moved");
        Assert.DoesNotContain("2", left);
        // Its sessions of clients that had moved away at the join were still open too (until their idle timeout).
        var kept = System.Text.RegularExpressions.Regex.Match(p2.StandardOutput, @"drain: keptOnOwnSocket=(\d+) notKept=0 ");
        Assert.True(kept.Success && int.Parse(kept.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= three.Count(tag => tag == "2"), p2.StandardOutput);
    }

    private static int Moved(string[] before, string[] after, string from, string to) =>
        Enumerable.Range(0, before.Length).Count(i => before[i] == from && after[i] == to);

    private static UdpsProcess StartEcho(int port, string tag, bool shared) => UdpsProcess.Start(
        ["echo", "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--threads", "1", "--quiet", "--tag", tag,
            "--idle-timeout-seconds", "1.5", "--drain-timeout-seconds", "20", .. shared ? new[] { "--shared-port" } : []]);

    private static async Task WaitForOutputAsync(UdpsProcess process, string text, CancellationToken cancellationToken)
    {
        for (int i = 0; i < 200 && !process.StandardOutput.Contains(text, StringComparison.Ordinal); i++)
        {
            await Task.Delay(50, cancellationToken);
        }

        Assert.Contains(text, process.StandardOutput);
    }

    internal static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}

/// <summary>Client sockets (each its own source port: a session) that send one datagram each and report which server's tag answered.</summary>
internal sealed class PingClients : IDisposable
{
    private readonly Socket[] _sockets;

    public PingClients(IPEndPoint target, int count, Func<Socket>? createSocket = null)
    {
        _sockets = new Socket[count];
        for (int i = 0; i < count; i++)
        {
            _sockets[i] = createSocket?.Invoke() ?? new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            _sockets[i].Connect(target);
        }
    }

    /// <summary>The tag of each client's answer, in client order; a client with no answer within 2 s fails the test.</summary>
    public async Task<string[]> PingAllAsync(CancellationToken cancellationToken)
    {
        var tags = new string[_sockets.Length];
        byte[] reply = new byte[256];
        for (int i = 0; i < _sockets.Length; i++)
        {
            byte[] datagram = BitConverter.GetBytes(i);
            _sockets[i].Send(datagram);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            int length = await _sockets[i].ReceiveAsync(reply, SocketFlags.None, timeout.Token);
            Assert.True(reply.AsSpan(length - datagram.Length, datagram.Length).SequenceEqual(datagram), "an echo of another datagram");
            tags[i] = System.Text.Encoding.ASCII.GetString(reply, 0, length - datagram.Length);
        }

        return tags;
    }

    public void Dispose()
    {
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }
    }
}
