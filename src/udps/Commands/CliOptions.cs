using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace UdpSessions.Cli.Commands;

/// <summary>Builders for options whose ranges are checked by the parser, so bad input fails with a usage error, not a stack trace.</summary>
internal static class CliOptions
{
    public static Option<int> Int(string name, string description, int defaultValue, int min, int max = int.MaxValue)
    {
        Option<int> option = RequiredInt(name, description, min, max);
        option.Required = false;
        option.DefaultValueFactory = _ => defaultValue;
        return option;
    }

    /// <summary>An int option without a default (a default would satisfy <see cref="Option.Required"/>).</summary>
    public static Option<int> RequiredInt(string name, string description, int min, int max = int.MaxValue)
    {
        var option = new Option<int>(name) { Description = description, Required = true };
        option.Validators.Add(result => CheckRange(result, result.GetValueOrDefault<int>(), min, max));
        return option;
    }

    /// <summary>An int option whose absence means "the library's default".</summary>
    public static Option<int?> OptionalInt(string name, string description, int min, int max = int.MaxValue)
    {
        var option = new Option<int?>(name) { Description = description };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is int value)
            {
                CheckRange(result, value, min, max);
            }
        });
        return option;
    }

    public static Option<string> Choice(string name, string description, string defaultValue, params string[] choices)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.AcceptOnlyFromAmong(choices);
        return option;
    }

    private static void CheckRange(OptionResult result, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            string range = max == int.MaxValue
                ? string.Create(CultureInfo.InvariantCulture, $"at least {min}")
                : string.Create(CultureInfo.InvariantCulture, $"between {min} and {max}");
            result.AddError($"{result.Option.Name} must be {range}.");
        }
    }
}
