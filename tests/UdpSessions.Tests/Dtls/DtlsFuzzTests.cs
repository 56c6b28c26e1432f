using System.Net.Sockets;
using System.Security.Cryptography;
using UdpSessions.Dtls;
using UdpSessions.Dtls.Handshake;
using UdpSessions.Dtls.Records;
using UdpSessions.Internal;
using UdpSessions.Tests.Infrastructure;

namespace UdpSessions.Tests.Dtls;

/// <summary>
/// Seeded, bounded fuzzing of the record and handshake parsers: mutated ClientHellos, records and random bytes, fed to
/// the parsers directly and to a live server. No exception escapes, nothing mutated is delivered, and the server keeps
/// serving its session.
/// </summary>
public class DtlsFuzzTests
{
    private const int Seed = 20_261_130;

    [Fact(Timeout = 60_000)]
    public void The_parsers_never_throw_and_never_accept_a_changed_record()
    {
        var random = new Random(Seed);
        var cookies = new DtlsCookies(TimeSpan.FromHours(1));
        PeerAddress peer = PeerAddress.FromIPEndPoint(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 40_000));
        byte[] hello = RawHandshake.ClientHello(RandomNumberGenerator.GetBytes(32), 1, 1);
        CipherSuiteInfo suite = CipherSuiteInfo.Get(DtlsCipherSuite.PskWithAes128Ccm8);
        byte[] keyBlock = RandomNumberGenerator.GetBytes(suite.KeyBlockLength);
        using var sender = new RecordProtection(suite, keyBlock, isServer: false, [], [1, 2, 3, 4, 5, 6, 7, 8], 1);
        using var receiver = new RecordProtection(suite, keyBlock, isServer: true, [1, 2, 3, 4, 5, 6, 7, 8], [], 1);
        byte[] plaintext = new byte[20_000];
        byte[] challenge = new byte[AcceptFilter.MaxChallengeLength];
        int helloViews = 0, opened = 0;
        for (int i = 0; i < 20_000; i++)
        {
            TestContext.Current.CancellationToken.ThrowIfCancellationRequested();
            byte[] mutatedHello = Mutate(hello, random);
            if (ClientHelloView.TryRead(mutatedHello, out ClientHelloView view))
            {
                helloViews++;
                Assert.NotEqual(CookieCheck.Valid, cookies.Check(peer, view, out _));
                Assert.InRange(cookies.WriteHelloVerifyRequest(peer, view, challenge), 1, mutatedHello.Length);
            }

            byte[] record = new byte[sender.SealedLength(1 + random.Next(100))];
            sender.Seal(ContentType.ApplicationData, RandomNumberGenerator.GetBytes(record.Length - sender.SealedLength(0)), record);
            byte[] datagram = random.Next(4) == 0 ? record : Mutate(record, random);
            bool changed = !datagram.AsSpan().SequenceEqual(record);
            ReadOnlySpan<byte> rest = datagram;
            while (DtlsRecord.TryRead(rest, 8, out DtlsRecord parsed) == RecordRead.Ok)
            {
                OpenResult result = receiver.Open(parsed, plaintext, out _, out _, out _);
                if (result == OpenResult.Ok)
                {
                    opened++;
                    Assert.False(changed && !parsed.Whole.SequenceEqual(record), $"a changed record authenticated (iteration {i})");
                }

                rest = rest[parsed.Whole.Length..];
            }

            byte[] noise = RandomNumberGenerator.GetBytes(random.Next(0, 200));
            DtlsRecord.TryRead(noise, random.Next(0, 9), out _);
            ClientHelloView.TryRead(noise, out _);
        }

        TestTimeout.Log($"{helloViews} mutated ClientHellos parsed, {opened} unchanged records opened");
        Assert.True(opened > 1_000, "the unmutated quarter must open");
    }

    [Fact(Timeout = 120_000)]
    public async Task A_live_server_survives_mutated_records_and_ClientHellos_and_delivers_none_of_them()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        await using OneClientServer setup = await OneClientServer.StartAsync(connectionId: true, cancellationToken);
        (SessionServer server, DtlsEchoHandler handler, DtlsClient client) = (setup.Server, setup.Handler, setup.Client);
        using var stranger = new Socket(System.Net.Sockets.AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        stranger.Connect(server.LocalEndPoint);

        var random = new Random(Seed);
        byte[][] hellos = [RawHandshake.ClientHello([]), RawHandshake.ClientHello(RandomNumberGenerator.GetBytes(32), 1, 1)];
        const int Rounds = 1_500;
        for (int i = 0; i < Rounds; i++)
        {
            byte[] record = DtlsClients.Seal(client, DtlsClients.Payload(1, 1_000 + i));
            byte[] alert = new byte[client.SealedLength(2)];
            byte[] hello = hellos[random.Next(hellos.Length)];
            DtlsClients.SendRaw(client, Damage(record, random));
            DtlsClients.SendRaw(client, Mutate(hello, random));
            stranger.Send(i % 2 == 0 ? Damage(record, random) : Mutate(hello, random)); // to the listener: unknown address
            if (i % 100 == 0)
            {
                DtlsClients.Echo(client, DtlsClients.Payload(1, i)); // still served, and paces the fuzz
            }
        }

        DtlsClients.Echo(client, DtlsClients.Payload(1, -1));
        long echoes = (Rounds / 100) + 2;
        DtlsStatistics stats = await DtlsServers.AccountedAsync(server);
        Assert.Equal(echoes, handler.Datagrams); // not one mutated record reached the application
        Assert.Equal(echoes, stats.RecordsDelivered);
        Assert.Equal(1, server.GetStatistics().SessionsAccepted);
        Assert.Equal(0, server.GetStatistics().HandlerErrors);
        Assert.Equal(0, stats.AddressChanges);
        Assert.Equal(0, stats.PeerRestarts);
        Assert.True(handler.Only(DtlsClients.LocalEndPoint(client)).IsOpen);
        TestTimeout.Log(stats.ToString());
    }

    /// <summary>A copy of a protected record with one to three bits flipped, and sometimes cut short: never the same record.</summary>
    private static byte[] Damage(byte[] record, Random random)
    {
        byte[] data = (byte[])record.Clone();
        int flips = 1 + random.Next(3);
        for (int f = 0; f < flips; f++)
        {
            data[random.Next(data.Length)] ^= (byte)(1 << random.Next(8));
        }

        if (data.AsSpan().SequenceEqual(record))
        {
            data[^1] ^= 1; // two flips of the same bit cancelled out
        }

        return random.Next(4) == 0 ? data[..random.Next(1, data.Length)] : data;
    }

    /// <summary>One to four random changes: bit flips, a cut, bytes added, or a length field overwritten.</summary>
    private static byte[] Mutate(byte[] original, Random random)
    {
        byte[] data = (byte[])original.Clone();
        int changes = 1 + random.Next(4);
        for (int c = 0; c < changes; c++)
        {
            switch (random.Next(5))
            {
                case 0 when data.Length > 0:
                    data[random.Next(data.Length)] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when data.Length > 1:
                    data = data[..random.Next(1, data.Length)];
                    break;
                case 2:
                    data = [.. data, .. RandomNumberGenerator.GetBytes(1 + random.Next(40))];
                    break;
                case 3 when data.Length > 13:
                    data[11 + random.Next(2)] = (byte)random.Next(256); // the record length
                    break;
                default:
                    if (data.Length > 30)
                    {
                        data[13 + random.Next(Math.Min(20, data.Length - 13))] = (byte)random.Next(256); // handshake header and first fields
                    }

                    break;
            }
        }

        return data;
    }
}
