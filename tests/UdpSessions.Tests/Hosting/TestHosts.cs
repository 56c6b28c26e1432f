using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace UdpSessions.Tests.Hosting;

/// <summary>A generic host with in-memory configuration, metrics and logging, and what the test registers.</summary>
public static class TestHosts
{
    public static IHost Build(Dictionary<string, string?> settings, Action<IServiceCollection, IConfiguration> register)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddMetrics();
        builder.Services.AddLogging();
        register(builder.Services, builder.Configuration);
        return builder.Build();
    }

    /// <summary>
    /// A port that two sockets can bind right now: <paramref name="first"/> on port 0 picks it, <paramref name="second"/>
    /// must get the same port (another protocol or address family); both are closed again before it is returned.
    /// </summary>
    public static int FreePort((ProtocolType Protocol, IPAddress Address) first, (ProtocolType Protocol, IPAddress Address) second)
    {
        for (int attempt = 0; attempt < 20; attempt++)
        {
            using Socket a = Bound(first, 0);
            int port = ((IPEndPoint)a.LocalEndPoint!).Port;
            try
            {
                using Socket b = Bound(second, port);
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException($"no port free for {first} and {second} in 20 attempts");
    }

    private static Socket Bound((ProtocolType Protocol, IPAddress Address) what, int port)
    {
        var socket = new Socket(what.Address.AddressFamily, what.Protocol == ProtocolType.Tcp ? SocketType.Stream : SocketType.Dgram, what.Protocol);
        try
        {
            socket.Bind(new IPEndPoint(what.Address, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
