using System.Buffers.Binary;
using UdpSessions.Dtls;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Dtls;

/// <summary>
/// The record layer on an established session: replayed, duplicated, truncated, forged, oversized, wrong-epoch and
/// malformed records are dropped and counted by cause, never reach the handler, and the accounting identity holds;
/// records reordered within the anti-replay window are delivered.
/// </summary>
public class DtlsRecordTests
{
    public static TheoryData<DtlsCipherSuite> Suites => new()
    {
        DtlsCipherSuite.PskWithAes128Ccm8,
        DtlsCipherSuite.PskWithAes128GcmSha256,
        DtlsCipherSuite.EcdheEcdsaWithAes128GcmSha256,
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Suites))]
    public async Task Bad_records_are_dropped_by_cause_and_reordered_ones_delivered(DtlsCipherSuite suite)
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        SessionServerOptions options = DtlsServers.Options(configure: dtls => dtls.CipherSuites = [suite]);
        options.MaxDatagramSize = 20_000; // so that an oversized record reaches the DTLS layer
        var handler = new DtlsEchoHandler();
        await using SessionServer server = await SessionServer.StartAsync(options, handler, cancellationToken: cancellationToken);
        DtlsClientOptions clientOptions = suite == DtlsCipherSuite.EcdheEcdsaWithAes128GcmSha256 ? new DtlsClientOptions() : DtlsServers.PskClient();
        clientOptions.CipherSuites = [suite];
        using DtlsClient client = DtlsClient.Connect(server.LocalEndPoint, clientOptions);
        Assert.Equal(suite, client.CipherSuite);
        int sequence = 0;
        DtlsClients.Echo(client, DtlsClients.Payload(7, sequence++));

        // Duplicated: the second copy is a replay.
        byte[] payload = DtlsClients.Payload(7, sequence++);
        byte[] record = DtlsClients.Seal(client, payload);
        DtlsClients.SendRaw(client, record);
        DtlsClients.SendRaw(client, record);
        DtlsClients.ExpectReply(client, payload);

        // Reordered within the window: all delivered, in the order sent.
        byte[][] payloads = [.. Enumerable.Range(0, 3).Select(_ => DtlsClients.Payload(7, sequence++))];
        byte[][] records = [.. payloads.Select(p => DtlsClients.Seal(client, p))];
        foreach (int i in new[] { 2, 0, 1 })
        {
            DtlsClients.SendRaw(client, records[i]);
            DtlsClients.ExpectReply(client, payloads[i]);
        }

        // Older than the 64-record window: dropped as a replay although never received.
        byte[] stale = DtlsClients.Seal(client, DtlsClients.Payload(7, sequence++));
        for (int i = 0; i < 70; i++)
        {
            DtlsClients.Echo(client, DtlsClients.Payload(7, sequence++));
        }

        DtlsClients.SendRaw(client, stale);

        // Truncated: cut short of its length field.
        byte[] cut = DtlsClients.Seal(client, DtlsClients.Payload(7, sequence++));
        DtlsClients.SendRaw(client, cut.AsSpan(0, cut.Length - 5));

        // Forged: one bit of the ciphertext flipped.
        byte[] forged = DtlsClients.Seal(client, DtlsClients.Payload(7, sequence++));
        forged[25] ^= 1;
        DtlsClients.SendRaw(client, forged);

        // Too short to hold the explicit nonce and tag.
        byte[] empty = DtlsClients.Seal(client, DtlsClients.Payload(7, sequence++));
        BinaryPrimitives.WriteUInt16BigEndian(empty.AsSpan(11), 4);
        DtlsClients.SendRaw(client, empty.AsSpan(0, 13 + 4));

        // Oversized: a fragment longer than any record may be (2^14 + 2048).
        byte[] oversized = new byte[13 + 18_500];
        DtlsClients.Seal(client, DtlsClients.Payload(7, sequence++)).AsSpan(0, 11).CopyTo(oversized);
        BinaryPrimitives.WriteUInt16BigEndian(oversized.AsSpan(11), 18_500);
        DtlsClients.SendRaw(client, oversized);

        // Wrong epoch: 2 is never in use.
        byte[] wrongEpoch = DtlsClients.Seal(client, DtlsClients.Payload(7, sequence++));
        wrongEpoch[4] = 2;
        DtlsClients.SendRaw(client, wrongEpoch);

        // Malformed: not a DTLS record (unknown content type, then an unknown version).
        DtlsClients.SendRaw(client, [0x99, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 0]);
        DtlsClients.SendRaw(client, [23, 0x03, 0x03, 0, 1, 0, 0, 0, 0, 0, 9, 0, 0]);

        // Application data in epoch 0 (plaintext): refused.
        byte[] plaintext = [23, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 50, 0, 4, 1, 2, 3, 4];
        DtlsClients.SendRaw(client, plaintext);

        // The session is unharmed.
        DtlsClients.Echo(client, DtlsClients.Payload(7, sequence++));
        long echoed = 1 + 1 + 3 + 70 + 1;
        DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
        Assert.Equal(echoed, handler.Datagrams);
        Assert.Equal(echoed, stats.RecordsDelivered);
        DtlsServers.DropsExactly(stats,
            (DtlsDropReason.CookieMissing, 1),
            (DtlsDropReason.Replayed, 2),
            (DtlsDropReason.Truncated, 2),
            (DtlsDropReason.BadMac, 1),
            (DtlsDropReason.Oversized, 1),
            (DtlsDropReason.WrongEpoch, 2),
            (DtlsDropReason.Malformed, 2));
        Assert.Equal(0, server.GetStatistics().HandlerErrors);
        Assert.True(handler.Only(DtlsClients.LocalEndPoint(client)).IsOpen);
    }
}
