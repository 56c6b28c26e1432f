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

    /// <summary>
    /// The accounting check by cause: every drop reason in <paramref name="expected"/> has exactly that count and every
    /// other reason none. Use after <see cref="AccountedAsync"/>.
    /// </summary>
    public static void DropsExactly(ServerStatistics stats, params (DropReason Reason, long Count)[] expected)
    {
        foreach (DropReason reason in Enum.GetValues<DropReason>())
        {
            long want = expected.Where(e => e.Reason == reason).Sum(e => e.Count);
            Expect.That(stats.GetDropped(reason) == want, () => $"expected {want} drops for {reason}, counted {stats.GetDropped(reason)} ({Drops(stats)}); {stats}");
        }
    }

    /// <summary>
    /// Waits for the accounting identity, with exactly <paramref name="expectedReceived"/> datagrams read, and checks
    /// the drops by cause (see <see cref="DropsExactly"/>; none when <paramref name="expectedDrops"/> is empty).
    /// </summary>
    public static async Task<ServerStatistics> AccountedExactlyAsync(SessionServer server, long expectedReceived, params (DropReason Reason, long Count)[] expectedDrops)
    {
        ServerStatistics stats = await AccountedAsync(server, expectedReceived);
        DropsExactly(stats, expectedDrops);
        return stats;
    }

    /// <summary>Fails if any drop reason outside <paramref name="allowed"/> was counted.</summary>
    public static void DropsOnlyFor(ServerStatistics stats, params DropReason[] allowed)
    {
        foreach (DropReason reason in Enum.GetValues<DropReason>().Except(allowed))
        {
            Expect.That(stats.GetDropped(reason) == 0, () => $"unexpected drops for {reason}: {Drops(stats)}; {stats}");
        }
    }
}
