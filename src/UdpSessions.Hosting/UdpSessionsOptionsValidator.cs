using System.Net;
using Microsoft.Extensions.Options;

namespace UdpSessions.Hosting;

/// <summary>Runs <see cref="SessionServerOptions.Validate"/> when the host starts, so bad configuration stops the host with a clear message.</summary>
internal sealed class UdpSessionsOptionsValidator : IValidateOptions<UdpSessionsOptions>
{
    public ValidateOptionsResult Validate(string? name, UdpSessionsOptions options)
    {
        if (!IPAddress.TryParse(options.Address, out _))
        {
            return ValidateOptionsResult.Fail($"UdpSessions: Address '{options.Address}' is not an IPv4 or IPv6 address.");
        }

        if (options.Port is < IPEndPoint.MinPort or > IPEndPoint.MaxPort)
        {
            return ValidateOptionsResult.Fail($"UdpSessions: Port {options.Port} is not between 0 and 65535.");
        }

        if (options.Server is null || options.Listeners is null)
        {
            return ValidateOptionsResult.Fail("UdpSessions: Server options are missing.");
        }

        foreach ((string listener, UdpSessionsListenerOptions settings) in options.Listeners)
        {
            if (settings.Address is { } address && !IPAddress.TryParse(address, out _))
            {
                return ValidateOptionsResult.Fail($"UdpSessions: Listeners:{listener}: Address '{address}' is not an IPv4 or IPv6 address.");
            }

            if (settings.Port is < IPEndPoint.MinPort or > IPEndPoint.MaxPort)
            {
                return ValidateOptionsResult.Fail($"UdpSessions: Listeners:{listener}: Port {settings.Port} is not between 0 and 65535.");
            }
        }

        foreach ((string listener, SessionServerOptions server) in options.BuildAllServerOptions())
        {
            try
            {
                server.Validate();
            }
            catch (ArgumentException exception)
            {
                return ValidateOptionsResult.Fail(listener.Length == 0 ? $"UdpSessions: {exception.Message}" : $"UdpSessions: Listeners:{listener}: {exception.Message}");
            }
        }

        return ValidateOptionsResult.Success;
    }
}
