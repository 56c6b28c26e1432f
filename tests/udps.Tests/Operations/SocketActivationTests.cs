using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Cli.Tests.Operations;

/// <summary>
/// Socket activation as systemd does it, with systemd's own tool: <c>systemd-socket-activate --datagram</c> binds the
/// port, waits for the first datagram, then starts <c>udps echo</c> with the socket as fd 3 (LISTEN_FDS); the echo
/// serves that socket (the first datagram included) instead of binding one.
/// </summary>
public class SocketActivationTests
{
    [Fact(Timeout = 120_000)]
    public async Task Echo_serves_the_datagram_socket_systemd_socket_activate_passes_it_starting_with_the_datagram_that_woke_it()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        Assert.True((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(directory => File.Exists(Path.Combine(directory, "systemd-socket-activate"))),
            "systemd-socket-activate is not installed (Debian: apt-get install systemd; .ci/run installs it)");
        int port = SharedPortTests.FreeUdpPort();
        using UdpsProcess echo = UdpsProcess.StartUnder("systemd-socket-activate", ["--datagram", "-l", $"127.0.0.1:{port}"],
            "echo", "--port", "0", "--quiet", "--tag", "S");
        await Task.Delay(500, cancellationToken); // systemd-socket-activate binds, then waits for traffic

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Connect(new IPEndPoint(IPAddress.Loopback, port));
        byte[] reply = new byte[64];
        for (int i = 0; i < 5; i++)
        {
            byte[] datagram = [(byte)'d', (byte)i];
            client.Send(datagram);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(i == 0 ? 60 : 5)); // the first one waits for the echo to start
            int length = await client.ReceiveAsync(reply, SocketFlags.None, timeout.Token);
            Assert.Equal("Sd" + (char)i, System.Text.Encoding.Latin1.GetString(reply, 0, length));
        }

        Assert.Equal(port, await echo.WaitForUdpPortAsync(cancellationToken));
        Assert.Contains("AddressMap", echo.StandardOutput); // systemd's socket has no SO_REUSEPORT: no socket of its own for any session
        echo.Interrupt();
        Assert.Equal(0, await echo.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken));
        Assert.Contains("received=5 ", echo.StandardOutput);
    }
}
