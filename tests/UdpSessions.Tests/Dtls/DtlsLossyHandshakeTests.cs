using UdpSessions.Dtls;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Dtls;

/// <summary>
/// Handshakes through a relay that loses or reorders flights: they still complete (BouncyCastle's retransmission
/// during the handshake, the record layer's resend of the last flight after it), and flights are fragmented to the
/// path MTU.
/// </summary>
public class DtlsLossyHandshakeTests
{
    public enum Fault
    {
        /// <summary>The first copy of every server handshake datagram is lost (each of its flights is retransmitted).</summary>
        ServerFlightsLostOnce,

        /// <summary>The server's last flight (ChangeCipherSpec, Finished) is lost once: the client repeats its own and the record layer answers.</summary>
        FinalFlightLostOnce,

        /// <summary>The client's key exchange flight is lost once.</summary>
        ClientFlightLostOnce,

        /// <summary>Every flight in both directions first arrives in reverse order.</summary>
        FlightsReversed,
    }

    [Theory(Timeout = 90_000)]
    [InlineData(Fault.ServerFlightsLostOnce)]
    [InlineData(Fault.FinalFlightLostOnce)]
    [InlineData(Fault.ClientFlightLostOnce)]
    [InlineData(Fault.FlightsReversed)]
    public async Task Handshakes_complete_despite_lost_and_reordered_flights(Fault fault)
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var handler = new DtlsEchoHandler();
        await using SessionServer server = await SessionServer.StartAsync(DtlsServers.Options(), handler, cancellationToken: cancellationToken);
        var seen = new HashSet<string>();
        bool finalDropped = false, clientFlightDropped = false, established = false;
        using var relay = new FlightRelay(server.LocalEndPoint, datagram =>
        {
            bool firstCopy = seen.Add($"{datagram.ToClient}:{Convert.ToHexString(datagram.Data.AsSpan(13, Math.Min(datagram.Data.Length - 13, 24)))}");
            switch (fault)
            {
                case Fault.ServerFlightsLostOnce when datagram.ToClient && datagram.IsEpoch0Handshake && datagram.Kind != "hello_verify_request" && firstCopy:
                    return RelayAction.Drop;
                case Fault.FinalFlightLostOnce when datagram.ToClient && datagram.Kind is "change_cipher_spec" or "epoch1" && !finalDropped:
                    finalDropped = datagram.Kind == "epoch1";
                    return RelayAction.Drop;
                case Fault.ClientFlightLostOnce when !datagram.ToClient && datagram.Kind is "client_key_exchange" or "change_cipher_spec" or "epoch1" && !clientFlightDropped:
                    clientFlightDropped = datagram.Kind == "epoch1";
                    return RelayAction.Drop;
                // The first transmission of each flight is reversed; retransmissions pass (reversing every copy would
                // reverse every retry too, and the peers would never see a Finished after the ChangeCipherSpec).
                case Fault.FlightsReversed when datagram.Kind is not ("other" or "hello_verify_request" or "client_hello") && firstCopy && !Volatile.Read(ref established):
                    return RelayAction.Hold;
                default:
                    return RelayAction.Forward;
            }
        });

        DtlsClient client;
        try
        {
            client = await Task.Run(() => DtlsClient.Connect(relay.EndPoint, new DtlsClientOptions { HandshakeTimeout = TimeSpan.FromSeconds(20) }), cancellationToken);
        }
        catch (IOException e)
        {
            lock (relay.Log)
            {
                Assert.Fail($"{e.Message}; server {server.GetDtlsStatistics()}; relay: {string.Join(" | ", relay.Log)}");
            }

            throw;
        }

        using DtlsClient connected = client;
        Volatile.Write(ref established, true);

        for (int i = 0; i < 5; i++)
        {
            DtlsClients.Echo(connected, DtlsClients.Payload(1, i));
        }

        string log;
        lock (relay.Log)
        {
            log = string.Join(" | ", relay.Log);
        }

        Assert.True(fault == Fault.FlightsReversed ? relay.Reordered > 0 : relay.Dropped > 0, $"the fault did not happen: {log}");
        Session session = Assert.Single(handler.Accepted);
        Assert.True(session.IsOpen);
        DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
        Assert.Equal(1, stats.HandshakesCompleted);
        Assert.Equal(5, stats.RecordsDelivered);
        if (fault == Fault.FinalFlightLostOnce)
        {
            Assert.True(stats.FinalFlightResends >= 1, $"{stats}; {log}");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Server_flights_are_fragmented_to_the_path_MTU()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        var handler = new DtlsEchoHandler();
        SessionServerOptions options = DtlsServers.Options(configure: dtls =>
        {
            dtls.Certificate = TestCertificates.Rsa;
            dtls.PathMtu = 300;
        });
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: cancellationToken);
        using var relay = new FlightRelay(server.LocalEndPoint, _ => RelayAction.Forward);
        using DtlsClient client = await Task.Run(() => DtlsClient.Connect(relay.EndPoint, new DtlsClientOptions()), cancellationToken);
        DtlsClients.Echo(client, DtlsClients.Payload(1, 1));

        Assert.InRange(relay.LargestFromServer, 1, 300 - 28);
        int certificateFragments;
        lock (relay.Log)
        {
            certificateFragments = relay.Log.Count(line => line.StartsWith("S->C certificate", StringComparison.Ordinal));
        }

        Assert.True(certificateFragments >= 3, $"a 2048-bit RSA certificate in {certificateFragments} datagrams of at most 272 bytes?");
        Assert.Equal(DtlsCipherSuite.EcdheRsaWithAes128GcmSha256, client.CipherSuite);
    }
}
