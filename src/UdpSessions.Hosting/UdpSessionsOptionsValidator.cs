using System.Net;
using Microsoft.Extensions.Options;

namespace UdpSessions.Hosting;

/// <summary>
/// Checks a server's options when the host starts (<see cref="SessionServerOptions.Validate"/>, addresses that must
/// parse or resolve, configuration keys no setting reads), so bad configuration stops the host with a clear message
/// naming the server, listener and setting.
/// </summary>
internal sealed class UdpSessionsOptionsValidator : IValidateOptions<UdpSessionsOptions>
{
    public ValidateOptionsResult Validate(string? name, UdpSessionsOptions options)
    {
        string server = string.IsNullOrEmpty(name) ? "UdpSessions" : $"UdpSessions '{name}'";
        var failures = new List<string>();
        foreach (string key in options.UnknownKeys)
        {
            failures.Add($"{server}: unknown configuration key {key}.");
        }

        if (!AddressResolution.TryResolve(options.Address, out _, out string? problem))
        {
            failures.Add($"{server}: Address '{options.Address}' {problem}.");
        }

        if (options.Port is < IPEndPoint.MinPort or > IPEndPoint.MaxPort)
        {
            failures.Add($"{server}: Port {options.Port} is not between 0 and 65535.");
        }

        if (options.Server is null || options.Listeners is null)
        {
            failures.Add($"{server}: Server options are missing.");
        }
        else
        {
            foreach ((string listener, UdpSessionsListenerOptions settings) in options.Listeners)
            {
                if (settings.Address is { } address && !AddressResolution.TryResolve(address, out _, out problem))
                {
                    failures.Add($"{server}: Listeners:{listener}: Address '{address}' {problem}.");
                }

                if (settings.Port is < IPEndPoint.MinPort or > IPEndPoint.MaxPort)
                {
                    failures.Add($"{server}: Listeners:{listener}: Port {settings.Port} is not between 0 and 65535.");
                }
            }
        }

        if (failures.Count == 0)
        {
            foreach ((string listener, SessionServerOptions settings) in options.BuildAllServerOptions())
            {
                try
                {
                    settings.Validate();
                }
                catch (ArgumentException exception)
                {
                    failures.Add(listener.Length == 0 ? $"{server}: {exception.Message}" : $"{server}: Listeners:{listener}: {exception.Message}");
                }
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
