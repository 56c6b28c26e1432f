using Microsoft.Extensions.Configuration;

namespace UdpSessions.Hosting;

/// <summary>
/// Finds configuration keys that no setting reads, which the binder would ignore without a word: a misspelt
/// <c>IdelTimeout</c>, or <c>EndPoint</c> (configuration gives the endpoint as Address and Port). The section is
/// bound to two objects (<see cref="UdpSessionsOptions"/> and its <see cref="SessionServerOptions"/>), so the binder's
/// own ErrorOnUnknownConfiguration cannot be used.
/// </summary>
internal static class ConfigurationKeys
{
    private static readonly HashSet<string> TcpKeys = PropertyNames(typeof(TcpOptions).GetProperties());

    // Every settable SessionServerOptions property but those configuration cannot give (hinted at below).
    private static readonly HashSet<string> ServerKeys = PropertyNames(typeof(SessionServerOptions).GetProperties(),
        except: [nameof(SessionServerOptions.EndPoint), nameof(SessionServerOptions.AcceptFilter)]);

    private static readonly HashSet<string> ListenerKeys = PropertyNames(typeof(UdpSessionsListenerOptions).GetProperties());

    private static readonly HashSet<string> OwnKeys = PropertyNames(typeof(UdpSessionsOptions).GetProperties());

    /// <summary>The unknown keys under <paramref name="section"/>, as full paths with a hint where one helps.</summary>
    public static List<string> FindUnknown(IConfiguration section)
    {
        var unknown = new List<string>();
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (OwnKeys.Contains(child.Key))
            {
                switch (child.Key.ToUpperInvariant())
                {
                    case "LISTENERS":
                        foreach (IConfigurationSection listener in child.GetChildren())
                        {
                            Check(listener, ListenerKeys, unknown);
                        }

                        break;
                    case "SERVER":
                        Check(child, ServerKeys, unknown);
                        break;
                }
            }
            else if (ServerKeys.Contains(child.Key))
            {
                if (string.Equals(child.Key, nameof(SessionServerOptions.Tcp), StringComparison.OrdinalIgnoreCase))
                {
                    Check(child, TcpKeys, unknown);
                }
            }
            else
            {
                unknown.Add(Describe(child));
            }
        }

        return unknown;
    }

    private static void Check(IConfigurationSection section, HashSet<string> known, List<string> unknown)
    {
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (!known.Contains(child.Key))
            {
                unknown.Add(Describe(child));
            }
            else if (string.Equals(child.Key, nameof(SessionServerOptions.Tcp), StringComparison.OrdinalIgnoreCase))
            {
                Check(child, TcpKeys, unknown);
            }
        }
    }

    private static string Describe(IConfigurationSection key) => key.Key.ToUpperInvariant() switch
    {
        "ENDPOINT" => $"{key.Path} (the endpoint is given as Address and Port)",
        "ACCEPTFILTER" => $"{key.Path} (an accept filter is set in code: configure => options.Server.AcceptFilter = ...)",
        _ => key.Path,
    };

    private static HashSet<string> PropertyNames(System.Reflection.PropertyInfo[] properties, string[]? except = null) =>
        new(properties.Where(p => p.CanWrite && p.SetMethod!.IsPublic && (except is null || !except.Contains(p.Name))).Select(p => p.Name),
            StringComparer.OrdinalIgnoreCase);
}
