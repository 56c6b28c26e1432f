using System.Net;
using System.Net.Sockets;

namespace UdpSessions.Tests.Infrastructure;

/// <summary>
/// Counts this process's open file descriptors through /proc/self/fd. <see cref="Count"/> leaves out descriptors of
/// files on disk: the runtime keeps every assembly it loads open (twice), and loads them lazily, whenever a test first
/// touches a type, while the library only ever opens sockets, epoll instances and eventfds.
/// </summary>
public static class FileDescriptors
{
    private const string Directory = "/proc/self/fd";
    private static bool s_warmedUp;

    /// <summary>Open descriptors that are not files on disk: sockets, epoll instances, eventfds, pipes.</summary>
    public static int Count()
    {
        int count = 0;
        foreach (string entry in System.IO.Directory.GetFileSystemEntries(Directory))
        {
            string? target;
            try
            {
                target = new FileInfo(entry).LinkTarget;
            }
            catch (IOException)
            {
                continue; // the listing's own handle, closed by now
            }

            if (target is not null && !target.StartsWith('/'))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Every open descriptor, files included.</summary>
    public static int CountAll() => System.IO.Directory.GetFileSystemEntries(Directory).Length;

    /// <summary>The descriptors <see cref="Count"/> counts, grouped by kind, for failure messages.</summary>
    public static string Describe()
    {
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (string entry in System.IO.Directory.GetFileSystemEntries(Directory))
        {
            string target;
            try
            {
                target = new FileInfo(entry).LinkTarget ?? "?";
            }
            catch (IOException)
            {
                continue; // closed while listing (the listing's own handle)
            }

            if (target.StartsWith('/'))
            {
                continue; // assemblies and the like, see the class summary
            }

            int bracket = target.IndexOf('[');
            string kind = bracket > 0 ? target[..bracket] : target;
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
        }

        return string.Join(", ", kinds.Select(kind => $"{kind.Key} x{kind.Value}"));
    }

    /// <summary>
    /// Makes the runtime open the descriptors it keeps for the rest of the process (the async socket engine's epoll
    /// and pipe), so that they are part of every baseline instead of showing up as a difference in the middle of a test.
    /// </summary>
    public static async Task WarmUpAsync()
    {
        if (s_warmedUp)
        {
            return;
        }

        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        await sender.SendToAsync(new byte[1], receiver.LocalEndPoint!).ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await receiver.ReceiveAsync(new byte[4], timeout.Token).ConfigureAwait(false);
        s_warmedUp = true;
    }
}
