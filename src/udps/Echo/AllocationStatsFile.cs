using System.Buffers.Text;
using System.Globalization;

namespace UdpSessions.Cli.Echo;

/// <summary>
/// A fixed-width counter file a server rewrites a few times a second: <c>allocated=N</c> with N the process's total
/// managed bytes allocated (<see cref="GC.GetTotalAllocatedBytes(bool)"/>). Writing it allocates nothing, so it does
/// not disturb the figure it reports.
/// </summary>
internal sealed class AllocationStatsFile : IDisposable
{
    private const string Prefix = "allocated=";
    private const int DigitWidth = 20;

    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _file;
    private readonly byte[] _line = new byte[Prefix.Length + DigitWidth + 1];
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();

    public AllocationStatsFile(string path, TimeSpan period)
    {
        _file = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        System.Text.Encoding.ASCII.GetBytes(Prefix, _line);
        _line[^1] = (byte)'\n';
        Write();
        _thread = new Thread(() =>
        {
            while (!_stop.Wait(period))
            {
                Write();
            }
        })
        { IsBackground = true, Name = "udps-stats-file" };
        _thread.Start();
    }

    public static long? ReadAllocatedBytes(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        string? line = reader.ReadLine();
        return line is not null && line.StartsWith(Prefix, StringComparison.Ordinal)
            && long.TryParse(line.AsSpan(Prefix.Length).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long value)
            ? value
            : null;
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        Write();
        _file.Dispose();
        _stop.Dispose();
    }

    private void Write()
    {
        Span<byte> digits = _line.AsSpan(Prefix.Length, DigitWidth);
        digits.Fill((byte)' ');
        Utf8Formatter.TryFormat(GC.GetTotalAllocatedBytes(precise: true), digits, out _);
        RandomAccess.Write(_file, _line, 0);
    }
}
