using System.Diagnostics;

namespace UdpSessions.Cli.Tests.Operations;

/// <summary>
/// The balancer recipes of docs/operations.md, run as written: three <c>udps echo</c> backends, each in a network
/// namespace standing in for a machine, behind nginx's stream module (<c>hash ... consistent</c>) and behind nftables
/// (<c>jhash</c> DNAT over a bucket map). Each client must stick to one backend over many datagrams, and taking one
/// backend out must move only that backend's clients. Tagged replies tell which backend answered.
/// </summary>
public class BalancerTests(ITestOutputHelper output)
{
    private const int Clients = 60;
    private const int Rounds = 3;

    [Fact(Timeout = 120_000)]
    public async Task Behind_nginx_stream_with_a_consistent_hash_clients_stick_and_removing_a_backend_moves_only_its_clients()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        using var lab = new BalancerLab(backends: 3);
        await lab.WaitForBackendsAsync(cancellationToken);
        DirectoryInfo prefix = Directory.CreateTempSubdirectory("udps-nginx-");
        string config = Path.Combine(prefix.FullName, "nginx.conf"), log = Path.Combine(prefix.FullName, "error.log");
        try
        {
            await File.WriteAllTextAsync(config, NginxConfig(prefix.FullName, [1, 2, 3]), cancellationToken);
            using Process nginx = StartQuiet("ip", "netns", "exec", lab.Balancer, "nginx", "-p", prefix.FullName, "-c", config);
            try
            {
                await WaitForLogAsync(log, "start worker process", 1, cancellationToken);
                using var clients = new PingClients(BalancerLab.Vip, Clients, lab.ClientSocket);
                string[] before = await StickyAsync(clients, cancellationToken);

                // Backend 3 leaves the upstream block; a reload's new worker takes the listening socket, the old one
                // stops reading it (its log says so), and every client's next datagram is balanced afresh.
                await File.WriteAllTextAsync(config, NginxConfig(prefix.FullName, [1, 2]), cancellationToken);
                BalancerLab.Run("kill", "-HUP", nginx.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                await WaitForLogAsync(log, "gracefully shutting down", 1, cancellationToken);
                AssertOnlyTheRemovedBackendsClientsMoved(before, await StickyAsync(clients, cancellationToken));
            }
            finally
            {
                BalancerLab.Run("kill", "-TERM", nginx.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                nginx.WaitForExit(10_000);
            }
        }
        finally
        {
            prefix.Delete(recursive: true);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Behind_nftables_jhash_DNAT_clients_stick_and_removing_a_backend_moves_only_its_clients()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        using var lab = new BalancerLab(backends: 3);
        await lab.WaitForBackendsAsync(cancellationToken);
        string rules = Path.Combine(Path.GetTempPath(), $"udps-nft-{Guid.NewGuid():N}.nft");
        try
        {
            await File.WriteAllTextAsync(rules, NftablesRules([1, 2, 3, 1, 2, 3]), cancellationToken);
            BalancerLab.Run("ip", "netns", "exec", lab.Balancer, "nft", "-f", rules);
            using var clients = new PingClients(BalancerLab.Vip, Clients, lab.ClientSocket);
            string[] before = await StickyAsync(clients, cancellationToken);

            // Backend 3's buckets go to the others (the rest of the map and the hash seed stay), then its flows are
            // forgotten by conntrack, which would otherwise keep sending them to it.
            await File.WriteAllTextAsync(rules, NftablesRules([1, 2, 1, 1, 2, 2]), cancellationToken);
            BalancerLab.Run("ip", "netns", "exec", lab.Balancer, "nft", "-f", rules);
            BalancerLab.Run("ip", "netns", "exec", lab.Balancer, "conntrack", "-D", "-p", "udp", "--reply-src", BalancerLab.Backend(3).Address.ToString());
            AssertOnlyTheRemovedBackendsClientsMoved(before, await StickyAsync(clients, cancellationToken));
        }
        finally
        {
            File.Delete(rules);
        }
    }

    /// <summary>The recipe's nginx.conf (docs/operations.md), with the test's prefix for pid and log files.</summary>
    internal static string NginxConfig(string prefix, int[] backends) => $$"""
        load_module /usr/lib/nginx/modules/ngx_stream_module.so;
        daemon off;
        worker_processes 1;
        pid {{prefix}}/nginx.pid;
        error_log {{prefix}}/error.log notice;
        events { worker_connections 1024; }
        stream {
            upstream udps {
                # In production: hash $remote_addr consistent. Here every client shares one address, so the port is in the key.
                hash "$remote_addr:$remote_port" consistent;
        {{string.Concat(backends.Select(n => $"        server {BalancerLab.Backend(n)};\n"))}}    }
            server {
                listen {{BalancerLab.Vip}} udp;
                proxy_pass udps;
                proxy_timeout 30s;
            }
        }
        """;

    /// <summary>The recipe's ruleset (docs/operations.md): a fixed seed and a bucket map, so that a backend's removal remaps only its buckets.</summary>
    internal static string NftablesRules(int[] buckets) => $$"""
        flush ruleset
        table ip udps_balancer {
            chain prerouting {
                type nat hook prerouting priority dstnat; policy accept;
                ip daddr {{BalancerLab.Vip.Address}} udp dport {{BalancerLab.Port}} dnat to jhash ip saddr . udp sport mod {{buckets.Length}} seed 0x5eed map { {{string.Join(", ", buckets.Select((n, bucket) => $"{bucket} : {BalancerLab.Backend(n).Address}"))}} }
            }
        }

        """;

    /// <summary>Every client pings <see cref="Rounds"/> times; each must get every answer from one backend. Returns each client's backend.</summary>
    private async Task<string[]> StickyAsync(PingClients clients, CancellationToken cancellationToken)
    {
        string[] first = await clients.PingAllAsync(cancellationToken);
        for (int round = 1; round < Rounds; round++)
        {
            Assert.Equal(first, await clients.PingAllAsync(cancellationToken));
        }

        output.WriteLine("clients per backend: " + string.Join(", ", first.GroupBy(tag => tag).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}")));
        return first;
    }

    private static void AssertOnlyTheRemovedBackendsClientsMoved(string[] before, string[] after)
    {
        Assert.Equal(3, before.Distinct().Count()); // the balancer spread the clients over all three
        for (int client = 0; client < before.Length; client++)
        {
            if (before[client] == "3")
            {
                Assert.Contains(after[client], new[] { "1", "2" });
            }
            else
            {
                Assert.Equal(before[client], after[client]);
            }
        }
    }

    private static Process StartQuiet(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Waits (bounded, 30 s) until <paramref name="log"/> holds <paramref name="text"/> <paramref name="times"/> times.</summary>
    private static async Task WaitForLogAsync(string log, string text, int times, CancellationToken cancellationToken)
    {
        for (int attempt = 0; attempt < 600; attempt++)
        {
            string content = File.Exists(log) ? await File.ReadAllTextAsync(log, cancellationToken) : "";
            if (System.Text.RegularExpressions.Regex.Count(content, System.Text.RegularExpressions.Regex.Escape(text)) >= times)
            {
                return;
            }

            await Task.Delay(50, cancellationToken);
        }

        Assert.Fail($"nginx did not log '{text}' within 30 s: {(File.Exists(log) ? await File.ReadAllTextAsync(log, cancellationToken) : "no log")}");
    }
}
