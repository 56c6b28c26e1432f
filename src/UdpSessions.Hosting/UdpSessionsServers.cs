using System.Collections;

namespace UdpSessions.Hosting;

/// <summary>
/// Every server <c>AddUdpSessions</c> runs: for each registration, in registration order, its main endpoint, then
/// one server per <see cref="UdpSessionsOptions.Listeners"/> entry, in name order. Inject it to reach a named server
/// or a listener (the unnamed main server is also injectable as <see cref="SessionServer"/>, a named one as
/// <c>[FromKeyedServices("name")] SessionServer</c>).
/// </summary>
public sealed class UdpSessionsServers : IReadOnlyList<SessionServer>
{
    private readonly Entry[] _entries;

    internal UdpSessionsServers(IEnumerable<Entry> entries) => _entries = [.. entries];

    /// <summary>The unnamed server's main endpoint. Throws <see cref="KeyNotFoundException"/> when only named servers are registered.</summary>
    public SessionServer Main => Get(string.Empty);

    /// <inheritdoc />
    public int Count => _entries.Length;

    /// <summary>The names of the registered servers ("" for the unnamed one), in registration order.</summary>
    public IEnumerable<string> Names => _entries.Where(e => e.Listener.Length == 0).Select(e => e.Server);

    /// <inheritdoc />
    public SessionServer this[int index] => _entries[index].Instance;

    /// <summary>The main endpoint of the server registered as <paramref name="name"/> ("" for the unnamed one).</summary>
    public SessionServer Get(string name) => Get(name, string.Empty);

    /// <summary>The listener <paramref name="listener"/> of the server <paramref name="name"/> ("" for the unnamed server, or for its main endpoint).</summary>
    public SessionServer Get(string name, string listener)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(listener);
        foreach (Entry entry in _entries)
        {
            if (entry.Server == name && entry.Listener == listener)
            {
                return entry.Instance;
            }
        }

        string server = name.Length == 0 ? "unnamed UdpSessions server" : $"UdpSessions server '{name}'";
        throw new KeyNotFoundException(listener.Length == 0
            ? $"No {server} is registered."
            : $"The {server} has no listener named '{listener}'.");
    }

    /// <summary>The servers with the registration each belongs to.</summary>
    internal IReadOnlyList<Entry> Entries => _entries;

    /// <inheritdoc />
    public IEnumerator<SessionServer> GetEnumerator() => _entries.Select(entry => entry.Instance).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>One server: the registration's name, the listener's name ("" for the main endpoint), the server.</summary>
    internal sealed record Entry(string Server, string Listener, SessionServer Instance);
}
