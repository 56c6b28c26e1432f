using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UdpSessions;
using UdpSessions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers a <see cref="UdpForwarder"/> that runs as a hosted service: started and stopped with the host, logging
/// through the host's <see cref="ILoggerFactory"/>, metrics (the client side's and <c>udpsessions.forward.*</c>) on
/// the "UdpSessions" meter of the host's <see cref="System.Diagnostics.Metrics.IMeterFactory"/>. Inject
/// <see cref="UdpForwarder"/> for its statistics or to add and remove upstreams while running.
/// </summary>
public static class UdpForwarderServiceCollectionExtensions
{
    /// <summary>A forwarder configured in code (at least one upstream); its options are validated when the host starts.</summary>
    public static IServiceCollection AddUdpForwarder(this IServiceCollection services, Action<UdpForwarderOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        services.TryAddSingleton(provider => new UdpForwarder(provider.GetRequiredService<IOptions<UdpForwarderOptions>>().Value, provider.GetService<ILoggerFactory>()));
        services.AddHostedService<UdpForwarderHostedService>();
        return services;
    }
}
