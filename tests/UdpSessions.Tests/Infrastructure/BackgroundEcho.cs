namespace UdpSessions.Tests.Infrastructure;

/// <summary>
/// Established peers that keep talking while a test does something else: echo rounds without pause (every reply
/// checked by <see cref="ClientGroup.EchoRounds"/>) on a long-running thread, until <see cref="StopAsync"/>.
/// </summary>
public sealed class BackgroundEcho : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<(int Sent, int Rounds)> _loop;

    /// <param name="clients">The established peers.</param>
    /// <param name="firstSequence">Sequence number of the first round.</param>
    /// <param name="cancellationToken">The test's token (a failure or timeout ends the loop with an exception).</param>
    public BackgroundEcho(ClientGroup clients, int firstSequence, CancellationToken cancellationToken) =>
        _loop = Task.Factory.StartNew(
            () =>
            {
                int sent = 0, round = firstSequence;
                while (!_stop.IsCancellationRequested)
                {
                    sent += clients.EchoRounds(round++, 1, clients.Count, cancellationToken);
                }

                return (sent, round - firstSequence);
            },
            TaskCreationOptions.LongRunning);

    /// <summary>Stops after the current round; returns the datagrams sent and the rounds completed.</summary>
    public async Task<(int Sent, int Rounds)> StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        return await _loop.WaitAsync(cancellationToken);
    }

    public void Dispose() => _stop.Dispose();
}
