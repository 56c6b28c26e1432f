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

        if (options.Server is null)
        {
            return ValidateOptionsResult.Fail("UdpSessions: Server options are missing.");
        }

        try
        {
            options.BuildServerOptions().Validate();
        }
        catch (ArgumentException exception)
        {
            return ValidateOptionsResult.Fail($"UdpSessions: {exception.Message}");
        }

        return ValidateOptionsResult.Success;
    }
}
