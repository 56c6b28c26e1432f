using System.Diagnostics;

namespace UdpSessions.Cli.Load;

/// <summary>
/// Opens the sessions of a DTLS run: the handshakes run in parallel (<see cref="LoadClientOptions.HandshakeThreads"/>)
/// and are timed, with the server's CPU over exactly that phase when a probe is given, which is what handshakes cost
/// the server.
/// </summary>
internal static class DtlsSessionOpener
{
    public static List<ClientSession> Open(SessionFactory factory, LoadClientOptions options, out HandshakePhase phase)
    {
        var sessions = new ClientSession?[options.Sessions];
        ServerSample? before = options.Probe?.Sample();
        long start = Stopwatch.GetTimestamp();
        try
        {
            Parallel.For(0, sessions.Length, new ParallelOptions { MaxDegreeOfParallelism = options.HandshakeThreads }, i => sessions[i] = factory.Open(0));
        }
        catch (AggregateException e)
        {
            foreach (ClientSession? session in sessions)
            {
                session?.Dispose();
            }

            throw new IOException($"a DTLS handshake failed: {e.InnerExceptions[0].Message}", e.InnerExceptions[0]);
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        ServerUsage? server = before is ServerSample first ? ServerUsage.Between(first, options.Probe!.Sample()) : null;
        phase = new HandshakePhase(sessions.Length, elapsed, server);
        return [.. sessions.Select(session => session!)];
    }
}

/// <summary>The handshakes of a DTLS run: how many, how fast, and what they cost the server.</summary>
internal sealed record HandshakePhase(int Count, TimeSpan Elapsed, ServerUsage? Server)
{
    public double PerSecond => Elapsed > TimeSpan.Zero ? Count / Elapsed.TotalSeconds : 0;

    public double? ServerCpuMicrosPerHandshake => Server is null || Count == 0 ? null : Server.CpuSeconds * 1e6 / Count;
}
