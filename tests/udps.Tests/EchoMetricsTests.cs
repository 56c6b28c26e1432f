using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace UdpSessions.Cli.Tests;

/// <summary>
/// <c>udps echo --metrics</c> as a user runs it: the real process, real datagrams over loopback, the endpoint scraped
/// over HTTP, and the UdpSessions instruments found in the Prometheus text with the values the traffic must produce.
/// </summary>
public partial class EchoMetricsTests
{
    private const int Clients = 3;
    private const int DatagramsPerClient = 7;
    private const int Size = 48;
    private const int MaxDatagramSize = 100;

    [Fact(Timeout = 90_000)]
    public async Task Echo_serves_its_counters_in_Prometheus_text_format_with_the_values_of_the_traffic()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        int metricsPort = ServerProcesses.FreeTcpPort();
        using UdpsProcess echo = UdpsProcess.Start(
            "echo", "--host", "127.0.0.1", "--port", "0", "--quiet", "--max-datagram-size", MaxDatagramSize.ToString(CultureInfo.InvariantCulture),
            "--metrics", $"http://127.0.0.1:{metricsPort}/");
        int udpPort = await ServerProcesses.WaitForUdpPortAsync(echo, cancellationToken);
        Assert.Contains($"Prometheus metrics on http://127.0.0.1:{metricsPort}/metrics", echo.StandardOutput);

        // Each client is one session: it sends its datagrams one at a time and checks every echo.
        var target = new IPEndPoint(IPAddress.Loopback, udpPort);
        for (int client = 0; client < Clients; client++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Connect(target);
            for (int i = 0; i < DatagramsPerClient; i++)
            {
                byte[] datagram = Enumerable.Range(0, Size).Select(b => (byte)(client * 31 + i + b)).ToArray();
                socket.Send(datagram);
                byte[] reply = new byte[MaxDatagramSize * 2];
                using var receiveTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                receiveTimeout.CancelAfter(TimeSpan.FromSeconds(5));
                int length = await socket.ReceiveAsync(reply, SocketFlags.None, receiveTimeout.Token);
                Assert.Equal(datagram, reply[..length]);
            }

            // Too large: dropped and counted by cause, never echoed.
            socket.Send(new byte[MaxDatagramSize + 1]);
        }

        const int Received = Clients * (DatagramsPerClient + 1);
        const int Echoed = Clients * DatagramsPerClient;
        (string Key, string Value)[] server = [("network_transport", "udp"), ("server_port", udpPort.ToString(CultureInfo.InvariantCulture))];

        // Replies can overtake the server's own counting of them by a moment: scrape until the totals arrive (bounded).
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        PrometheusScrape scrape = await ServerProcesses.EventuallyAsync(
            async () => new PrometheusScrape(await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"), cancellationToken)),
            s => s.Value("udpsessions_datagrams_sent_total", server) == Echoed && s.Value("udpsessions_datagrams_received_total", server) == Received,
            cancellationToken);

        string text = scrape.Text;
        Assert.Equal("counter", scrape.TypeOf("udpsessions_datagrams_received_total"));
        Assert.Equal("gauge", scrape.TypeOf("udpsessions_sessions_active"));
        Assert.Equal(Received, scrape.Value("udpsessions_datagrams_received_total", server));
        Assert.Equal(Echoed, scrape.Value("udpsessions_datagrams_delivered_total", server));
        Assert.Equal(Echoed, scrape.Value("udpsessions_datagrams_sent_total", server));
        Assert.Equal(Echoed * Size, scrape.Value("udpsessions_bytes_sent_bytes_total", server));
        Assert.Equal(Clients, scrape.Value("udpsessions_sessions_accepted_total", server));
        Assert.Equal(Clients, scrape.Value("udpsessions_sessions_active", server));
        Assert.Equal(Clients, scrape.Value("udpsessions_datagrams_dropped_total", [.. server, ("udpsessions_drop_cause", "oversized")]));
        Assert.Equal(0, scrape.Value("udpsessions_datagrams_dropped_total", [.. server, ("udpsessions_drop_cause", "session_limit")]));
        Assert.Equal(0, scrape.Value("udpsessions_handler_errors_total", server));
        Assert.Contains("otel_scope_name=\"UdpSessions\"", text);

        echo.Interrupt();
        Assert.True(await echo.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken) == 0, echo.ToString());
    }

    [Fact(Timeout = 90_000)]
    public async Task A_metrics_address_that_is_taken_stops_echo_with_a_clear_error_and_exit_code_2()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        (int exit, UdpsProcess run) = await UdpsProcess.RunAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken,
            "echo", "--host", "127.0.0.1", "--port", "0", "--metrics", $"http://127.0.0.1:{port}/");
        using (run)
        {
            Assert.True(exit == 2, run.ToString());
            Assert.Contains("cannot serve metrics", run.StandardError);
        }
    }

    [Theory(Timeout = 90_000)]
    [InlineData("127.0.0.1:9464")]
    [InlineData("http://127.0.0.1/")]
    [InlineData("https://127.0.0.1:9464/")]
    [InlineData("http://[::1]:9464/")]
    public async Task A_malformed_metrics_address_is_a_usage_error(string address)
    {
        (int exit, UdpsProcess run) = await UdpsProcess.RunAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken,
            "echo", "--port", "0", "--metrics", address);
        using (run)
        {
            Assert.True(exit == 2, run.ToString());
            Assert.Contains("--metrics must be", run.StandardError);
        }
    }
}
