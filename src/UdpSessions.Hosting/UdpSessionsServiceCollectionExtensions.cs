using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UdpSessions;
using UdpSessions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers a UdpSessions server (plus one per <see cref="UdpSessionsOptions.Listeners"/> entry) that runs as a hosted service: started and stopped with the host, options validated
/// when the host starts, logging through the host's <see cref="ILoggerFactory"/>, metrics on the "UdpSessions" meter.
/// The handler is the <see cref="SessionHandler"/> registered in the container (the generic overloads register
/// THandler); without one the server runs the async API: inject <see cref="SessionServer"/> and call
/// <see cref="SessionServer.AcceptAllAsync"/> (or <see cref="UdpSessionsServers"/> for the listeners).
/// </summary>
public static class UdpSessionsServiceCollectionExtensions
{
    /// <summary>A server with default options (0.0.0.0, a free port, UDP).</summary>
    public static IServiceCollection AddUdpSessions(this IServiceCollection services) => AddCore(services);

    /// <summary>A server configured from <paramref name="configuration"/> (usually <c>configuration.GetSection("UdpSessions")</c>).</summary>
    public static IServiceCollection AddUdpSessions(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        AddCore(services);
        services.AddOptions<UdpSessionsOptions>().Configure(options =>
        {
            configuration.Bind(options);
            configuration.Bind(options.Server);
        });
        return services;
    }

    /// <summary>A server configured in code.</summary>
    public static IServiceCollection AddUdpSessions(this IServiceCollection services, Action<UdpSessionsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        AddCore(services);
        services.Configure(configure);
        return services;
    }

    /// <summary>A server with default options whose handler is <typeparamref name="THandler"/>, resolved from the container.</summary>
    public static IServiceCollection AddUdpSessions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IServiceCollection services)
        where THandler : SessionHandler => AddUdpSessions(AddHandler<THandler>(services));

    /// <summary>A server configured from <paramref name="configuration"/> whose handler is <typeparamref name="THandler"/>.</summary>
    public static IServiceCollection AddUdpSessions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IServiceCollection services, IConfiguration configuration)
        where THandler : SessionHandler => AddUdpSessions(AddHandler<THandler>(services), configuration);

    /// <summary>A server configured in code whose handler is <typeparamref name="THandler"/>.</summary>
    public static IServiceCollection AddUdpSessions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IServiceCollection services, Action<UdpSessionsOptions> configure)
        where THandler : SessionHandler => AddUdpSessions(AddHandler<THandler>(services), configure);

    private static IServiceCollection AddHandler<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(IServiceCollection services)
        where THandler : SessionHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<THandler>();
        services.AddSingleton<SessionHandler>(provider => provider.GetRequiredService<THandler>());
        return services;
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<UdpSessionsOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UdpSessionsOptions>, UdpSessionsOptionsValidator>());
        services.TryAddSingleton(provider =>
        {
            SessionHandler? handler = provider.GetService<SessionHandler>();
            ILoggerFactory? loggerFactory = provider.GetService<ILoggerFactory>();
            return new UdpSessionsServers(provider.GetRequiredService<IOptions<UdpSessionsOptions>>().Value.BuildAllServerOptions()
                .Select(entry => (entry.Name, new SessionServer(entry.Options, handler, loggerFactory))));
        });
        services.TryAddSingleton(provider => provider.GetRequiredService<UdpSessionsServers>().Main);
        services.AddHostedService<UdpSessionsHostedService>();
        return services;
    }
}
