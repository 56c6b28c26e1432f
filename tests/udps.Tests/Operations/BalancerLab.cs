using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace UdpSessions.Cli.Tests.Operations;

/// <summary>
/// Machines behind an L4 balancer, each a network namespace of its own (docs/operations.md, "Behind an L4 balancer"):
/// a client namespace (10.14.0.2) reaches the balancer namespace at <see cref="Vip"/> (10.14.0.1); the balancer
/// forwards to <c>udps echo --tag N</c> on backend N (10.14.N.2:7000), each in its own namespace behind a veth pair.
/// What balances (nginx stream, nftables) is the test's to start in <see cref="Balancer"/>. Everything is removed on
/// dispose; nothing touches the test machine's own namespace.
/// </summary>
internal sealed partial class BalancerLab : IDisposable
{
    public const int Port = 7000;
    public static readonly IPEndPoint Vip = new(IPAddress.Parse("10.14.0.1"), Port);

    private readonly string _id = Guid.NewGuid().ToString("N")[..6];
    private readonly List<string> _namespaces = [];
    private readonly Dictionary<int, UdpsProcess> _backends = [];

    public BalancerLab(int backends)
    {
        try
        {
            string client = AddNamespace("c");
            Balancer = AddNamespace("l");
            Link(client, "10.14.0.2", Balancer, "10.14.0.1", 0);
            Run("ip", "-n", client, "route", "add", "default", "via", "10.14.0.1");
            Run("ip", "netns", "exec", Balancer, "sysctl", "-qw", "net.ipv4.ip_forward=1");
            for (int n = 1; n <= backends; n++)
            {
                string backend = AddNamespace($"b{n}");
                Link(backend, $"10.14.{n}.2", Balancer, $"10.14.{n}.1", n);
                Run("ip", "-n", backend, "route", "add", "default", "via", $"10.14.{n}.1");
                _backends[n] = UdpsProcess.StartUnder("ip", ["netns", "exec", backend],
                    "echo", "--host", Backend(n).Address.ToString(), "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--quiet", "--tag", n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            ClientNamespace = client;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The balancer's namespace: run nginx or nft there (<c>ip netns exec</c>).</summary>
    public string Balancer { get; }

    public string ClientNamespace { get; } = "";

    public static IPEndPoint Backend(int n) => new(IPAddress.Parse($"10.14.{n}.2"), Port);

    /// <summary>Waits (bounded) until every backend listens.</summary>
    public async Task WaitForBackendsAsync(CancellationToken cancellationToken)
    {
        foreach (UdpsProcess backend in _backends.Values)
        {
            await backend.WaitForUdpPortAsync(cancellationToken);
        }
    }

    /// <summary>A UDP socket created inside the client namespace (a socket stays in the namespace it was made in).</summary>
    public Socket ClientSocket() => CreateSocketIn(ClientNamespace);

    /// <summary>Runs a program to completion (bounded), failing the test with its output when it fails.</summary>
    public static string Run(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(20_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', arguments)} did not finish within 20 s");
        }

        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr.Result}{stdout.Result}");
        return stdout.Result;
    }

    public void Dispose()
    {
        foreach (UdpsProcess backend in _backends.Values)
        {
            backend.Dispose();
        }

        foreach (string ns in _namespaces)
        {
            try
            {
                Run("ip", "netns", "del", ns); // takes its veth ends (and their peers) with it
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // best effort: a namespace still in use by a dying process is freed when the process ends
            }
        }
    }

    private string AddNamespace(string role)
    {
        string name = $"udps-lab-{_id}-{role}";
        Run("ip", "netns", "add", name);
        _namespaces.Add(name);
        Run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    /// <summary>A veth pair between two namespaces, each end addressed in 10.14.<paramref name="subnet"/>.0/24.</summary>
    private void Link(string a, string addressA, string b, string addressB, int subnet)
    {
        string endA = $"v{_id}{subnet}a", endB = $"v{_id}{subnet}b"; // interface names: at most 15 characters
        Run("ip", "link", "add", endA, "netns", a, "type", "veth", "peer", "name", endB, "netns", b);
        Run("ip", "-n", a, "addr", "add", $"{addressA}/24", "dev", endA);
        Run("ip", "-n", b, "addr", "add", $"{addressB}/24", "dev", endB);
        Run("ip", "-n", a, "link", "set", endA, "up");
        Run("ip", "-n", b, "link", "set", endB, "up");
    }

    private static Socket CreateSocketIn(string ns)
    {
        Socket? socket = null;
        Exception? failure = null;

        // setns(CLONE_NEWNET) moves the calling thread only: a thread of its own enters, makes the socket and ends.
        var thread = new Thread(() =>
        {
            try
            {
                using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle($"/run/netns/{ns}");
                if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new IOException($"setns({ns}) failed: errno {Marshal.GetLastPInvokeError()}");
                }

                socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                failure = exception;
            }
        });
        thread.Start();
        thread.Join();
        return socket ?? throw new IOException($"no socket in {ns}", failure);
    }

    private const int CloneNewNet = 0x40000000;

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);
}
