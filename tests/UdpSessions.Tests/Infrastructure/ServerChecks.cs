namespace UdpSessions.Tests.Infrastructure;

/// <summary>Assertions on a server's counters, which loop threads update a moment after the datagram they count.</summary>
public static class ServerChecks
{
    /// <summary>
    /// Waits until every datagram the server read is accounted for (received == delivered + dropped) and, when given,
    /// until it has read <paramref name="expectedReceived"/> datagrams; returns the statistics of that moment.
    /// </summary>
    public static async Task<ServerStatistics> AccountedAsync(SessionServer server, long? expectedReceived = null, TimeSpan? timeout = null)
    {
        ServerStatistics stats = server.GetStatistics();
        await Eventually.TrueAsync(
            () =>
            {
                stats = server.GetStatistics();
                return stats.DatagramsReceived == stats.DatagramsDelivered + stats.DatagramsDropped
                    && (expectedReceived is null || stats.DatagramsReceived >= expectedReceived);
            },
            () => $"expected received == delivered + dropped{(expectedReceived is null ? "" : $" and received == {expectedReceived}")}: {stats}; " +
                $"kernel view of the server's sockets (port {server.LocalEndPoint.Port}): {KernelUdpCounters.DropsOnLocalPort(server.LocalEndPoint.Port)}",
            timeout);
        if (expectedReceived is not null)
        {
            Expect.That(stats.DatagramsReceived == expectedReceived, () => $"the server read {stats.DatagramsReceived} datagrams, the clients sent {expectedReceived}: {stats}; " +
                $"kernel view of the server's sockets (port {server.LocalEndPoint.Port}): {KernelUdpCounters.DropsOnLocalPort(server.LocalEndPoint.Port)}");
        }

        return stats;
    }

    /// <summary>Dropped counts by reason, for messages.</summary>
    public static string Drops(ServerStatistics stats) =>
        string.Join(", ", Enum.GetValues<DropReason>().Select(reason => $"{reason}={stats.GetDropped(reason)}"));
}
