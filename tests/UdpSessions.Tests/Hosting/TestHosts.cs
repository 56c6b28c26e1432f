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
}
