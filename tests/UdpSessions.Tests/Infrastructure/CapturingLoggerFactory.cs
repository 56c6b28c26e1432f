using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>Keeps the server's log lines (with exceptions) so that failure messages can show why a session closed.</summary>
public sealed class CapturingLoggerFactory : ILoggerFactory
{
    private const int MaxEntries = 200;
    private readonly ConcurrentQueue<string> _entries = new();

    public IReadOnlyCollection<string> Entries => _entries;

    /// <summary>The first few entries at <see cref="LogLevel.Warning"/> or above.</summary>
    public string Summary(int count = 3) => string.Join(" | ", _entries.Take(count));

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel) && owner._entries.Count < MaxEntries)
            {
                string first = exception is null ? "" : $" {exception.GetType().Name}: {exception.Message} at {exception.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}";
                owner._entries.Enqueue($"{logLevel}: {formatter(state, exception)}{first}");
            }
        }
    }
}
