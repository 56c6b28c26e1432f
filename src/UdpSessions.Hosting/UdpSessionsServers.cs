using System.Collections;

namespace UdpSessions.Hosting;

/// <summary>
/// The servers <c>AddUdpSessions</c> runs: the main one first, then one per <see cref="UdpSessionsOptions.Listeners"/>
/// entry, in name order. Inject it to reach a listener's server (the main one is also injectable as <see cref="SessionServer"/>).
/// </summary>
public sealed class UdpSessionsServers : IReadOnlyList<SessionServer>
{
    private readonly SessionServer[] _servers;
    private readonly string[] _names;

    internal UdpSessionsServers(IEnumerable<(string Name, SessionServer Server)> servers)
    {
        (string Name, SessionServer Server)[] all = [.. servers];
        _servers = [.. all.Select(entry => entry.Server)];
        _names = [.. all.Select(entry => entry.Name)];
    }

    /// <summary>The server of the main endpoint (Address, Port, Transport).</summary>
    public SessionServer Main => _servers[0];

    /// <inheritdoc />
    public int Count => _servers.Length;

    /// <inheritdoc />
    public SessionServer this[int index] => _servers[index];

    /// <summary>The server of the listener named <paramref name="name"/> ("" for the main one).</summary>
    public SessionServer Get(string name)
    {
        int index = Array.IndexOf(_names, name);
        return index >= 0 ? _servers[index] : throw new KeyNotFoundException($"No UdpSessions listener is named '{name}'.");
    }

    /// <inheritdoc />
    public IEnumerator<SessionServer> GetEnumerator() => ((IEnumerable<SessionServer>)_servers).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
