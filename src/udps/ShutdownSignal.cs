using System.Runtime.InteropServices;

namespace UdpSessions.Cli;

/// <summary>
/// One token for "stop now": Ctrl+C (SIGINT), SIGTERM, or the invocation token. The signals are handled here rather
/// than by System.CommandLine (see Program.cs), and a second signal is left to its default action, so a shutdown
/// that hangs can still be interrupted.
/// </summary>
internal sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly List<PosixSignalRegistration> _registrations = [];

    public ShutdownSignal(CancellationToken invocationToken)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(invocationToken);
        foreach (PosixSignal signal in (ReadOnlySpan<PosixSignal>)[PosixSignal.SIGINT, PosixSignal.SIGTERM])
        {
            try
            {
                _registrations.Add(PosixSignalRegistration.Create(signal, OnSignal));
            }
            catch (PlatformNotSupportedException)
            {
                // Without the registration the signal keeps its default action: the process ends at once.
            }
        }
    }

    public CancellationToken Token => _source.Token;

    /// <summary>True when the stop was asked for by SIGTERM (a service manager, a deploy): servers drain on it.</summary>
    public bool Terminated { get; private set; }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }

        _source.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (_source.IsCancellationRequested)
        {
            return;
        }

        // Keep the runtime from ending the process before the server has closed its sessions.
        context.Cancel = true;
        Terminated = context.Signal == PosixSignal.SIGTERM;
        try
        {
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The command finished while the signal was being handled: nothing is left to stop.
        }
    }
}
