using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UdpSessions;
using UdpSessions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers UdpSessions servers (each plus one per <see cref="UdpSessionsOptions.Listeners"/> entry) that run as a
/// hosted service: started and stopped with the host, options validated when the host starts, logging through the
/// host's <see cref="ILoggerFactory"/>, metrics on the "UdpSessions" meter.
/// </summary>
/// <remarks>
/// <para>
/// One unnamed server (the overloads without a name): its handler is the <see cref="SessionHandler"/> registered in
/// the container (the generic overloads register THandler); without one it runs the async API: inject
/// <see cref="SessionServer"/> and call <see cref="SessionServer.AcceptAllAsync"/>.
/// </para>
/// <para>
/// Any number of named servers (the overloads with a name), each with its own handler (THandler, or none for the
/// async API), its own options (named options: <c>IOptionsMonitor&lt;UdpSessionsOptions&gt;.Get(name)</c>) and usually
/// its own configuration section; inject <c>[FromKeyedServices("name")] SessionServer</c> or
/// <see cref="UdpSessionsServers"/>. Registering a name twice, or the unnamed server twice, throws
/// <see cref="InvalidOperationException"/> at once instead of silently keeping one of them.
/// </para>
/// </remarks>
public static class UdpSessionsServiceCollectionExtensions
{
    /// <summary>The unnamed server with default options (0.0.0.0, a free port, UDP).</summary>
    public static IServiceCollection AddUdpSessions(this IServiceCollection services) => AddCore(services, string.Empty, AnyRegisteredHandler);

    /// <summary>The unnamed server configured from <paramref name="configuration"/> (usually <c>configuration.GetSection("UdpSessions")</c>).</summary>
    public static IServiceCollection AddUdpSessions(this IServiceCollection services, IConfiguration configuration) =>
        Bind(AddCore(services, string.Empty, AnyRegisteredHandler), string.Empty, configuration);

    /// <summary>The unnamed server configured in code.</summary>
    public static IServiceCollection AddUdpSessions(this IServiceCollection services, Action<UdpSessionsOptions> configure) =>
        Configure(AddCore(services, string.Empty, AnyRegisteredHandler), string.Empty, configure);

    /// <summary>The unnamed server with default options whose handler is <typeparamref name="THandler"/>, resolved from the container.</summary>
    public static IServiceCollection AddUdpSessions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IServiceCollection services)
        where THandler : SessionHandler => AddUdpSessions(AddUnnamedHandler<THandler>(services));

    /// <summary>The unnamed server configured from <paramref name="configuration"/> whose handler is <typeparamref name="THandler"/>.</summary>
    public static IServiceCollection AddUdpSessions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IServiceCollection services, IConfiguration configuration)
        where THandler : SessionHandler => AddUdpSessions(AddUnnamedHandler<THandler>(services), configuration);

    /// <summary>The unnamed server configured in code whose handler is <typeparamref name="THandler"/>.</summary>
    public static IServiceCollection AddUdpSessions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IServiceCollection services, Action<UdpSessionsOptions> configure)
        where THandler : SessionHandler => AddUdpSessions(AddUnnamedHandler<THandler>(services), configure);

    /// <summary>
    /// The server <paramref name="name"/>, configured from <paramref name="configuration"/> (its own section, e.g.
    /// <c>configuration.GetSection("Game")</c>), whose handler is <typeparamref name="THandler"/>.
    /// </summary>
    public static IServiceCollection AddUdpSessions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IServiceCollection services, string name, IConfiguration configuration)
        where THandler : SessionHandler =>
        Bind(AddCore(AddNamedHandler<THandler>(services), RequireName(name), provider => provider.GetRequiredService<THandler>()), name, configuration);

    /// <summary>The server <paramref name="name"/>, configured in code, whose handler is <typeparamref name="THandler"/>.</summary>
    public static IServiceCollection AddUdpSessions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IServiceCollection services, string name, Action<UdpSessionsOptions> configure)
        where THandler : SessionHandler =>
        Configure(AddCore(AddNamedHandler<THandler>(services), RequireName(name), provider => provider.GetRequiredService<THandler>()), name, configure);

    /// <summary>The server <paramref name="name"/>, configured from <paramref name="configuration"/>, serving the async API (no handler).</summary>
    public static IServiceCollection AddUdpSessions(this IServiceCollection services, string name, IConfiguration configuration) =>
        Bind(AddCore(services, RequireName(name), _ => null), name, configuration);

    /// <summary>The server <paramref name="name"/>, configured in code, serving the async API (no handler).</summary>
    public static IServiceCollection AddUdpSessions(this IServiceCollection services, string name, Action<UdpSessionsOptions> configure) =>
        Configure(AddCore(services, RequireName(name), _ => null), name, configure);

    private static SessionHandler? AnyRegisteredHandler(IServiceProvider provider) => provider.GetService<SessionHandler>();

    private static string RequireName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return name;
    }

    private static IServiceCollection Bind(IServiceCollection services, string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<UdpSessionsOptions>(name).Configure(options =>
        {
            configuration.Bind(options);
            configuration.Bind(options.Server);
            options.UnknownKeys.AddRange(ConfigurationKeys.FindUnknown(configuration));
        });
        return services;
    }

    private static IServiceCollection Configure(IServiceCollection services, string name, Action<UdpSessionsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<UdpSessionsOptions>(name).Configure(configure);
        return services;
    }

    /// <summary>The unnamed server's handler, also injectable as <see cref="SessionHandler"/>.</summary>
    private static IServiceCollection AddUnnamedHandler<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(IServiceCollection services)
        where THandler : SessionHandler
    {
        AddNamedHandler<THandler>(services);
        services.AddSingleton<SessionHandler>(provider => provider.GetRequiredService<THandler>());
        return services;
    }

    private static IServiceCollection AddNamedHandler<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(IServiceCollection services)
        where THandler : SessionHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<THandler>();
        return services;
    }

    private static IServiceCollection AddCore(IServiceCollection services, string name, Func<IServiceProvider, SessionHandler?> handler)
    {
        ArgumentNullException.ThrowIfNull(services);
        var registration = new UdpSessionsRegistration(name, handler);
        if (services.Any(descriptor => descriptor.ImplementationInstance is UdpSessionsRegistration existing && existing.Name == name))
        {
            throw new InvalidOperationException(name.Length == 0
                ? "AddUdpSessions was called twice for the unnamed UdpSessions server: only one unnamed server can be registered. " +
                  "Give each server a name, e.g. services.AddUdpSessions<GameHandler>(\"game\", configuration.GetSection(\"Game\"))."
                : $"AddUdpSessions was called twice for the UdpSessions server '{name}': server names must be unique.");
        }

        services.AddSingleton(registration);
        services.AddOptions<UdpSessionsOptions>(name).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UdpSessionsOptions>, UdpSessionsOptionsValidator>());
        services.TryAddSingleton(provider => new UdpSessionsServers(provider.GetServices<UdpSessionsRegistration>().SelectMany(r => Create(provider, r))));
        if (name.Length == 0)
        {
            services.TryAddSingleton(provider => provider.GetRequiredService<UdpSessionsServers>().Main);
        }
        else
        {
            services.AddKeyedSingleton(name, (provider, _) => provider.GetRequiredService<UdpSessionsServers>().Get(name));
        }

        services.AddHostedService<UdpSessionsHostedService>();
        return services;
    }

    /// <summary>The servers of one registration: its main endpoint and its listeners, with its handler.</summary>
    private static List<UdpSessionsServers.Entry> Create(IServiceProvider provider, UdpSessionsRegistration registration)
    {
        SessionHandler? handler = registration.Handler(provider);
        ILoggerFactory? loggerFactory = provider.GetService<ILoggerFactory>();
        UdpSessionsOptions options = provider.GetRequiredService<IOptionsMonitor<UdpSessionsOptions>>().Get(registration.Name);
        return options.BuildAllServerOptions()
            .Select(entry => new UdpSessionsServers.Entry(registration.Name, entry.Name, new SessionServer(entry.Options, handler, loggerFactory)))
            .ToList();
    }
}
