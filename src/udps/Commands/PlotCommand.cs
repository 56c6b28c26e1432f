using System.CommandLine;
using UdpSessions.Cli.Plots;

namespace UdpSessions.Cli.Commands;

/// <summary>
/// <c>udps plot</c>: the pictures from saved results: <c>run</c> redraws <c>udps load --plot</c>'s picture from
/// <c>udps load --json</c> files (several runs overlaid), <c>bars</c> draws a grouped bar chart from a JSON description
/// (bench/macro.sh's charts). Exit status: 0 drawn, 2 bad input.
/// </summary>
internal static class PlotCommand
{
    /// <summary>An option naming the picture to write: .svg or .png, in a folder that exists (checked when parsing).</summary>
    public static Option<string?> PictureOption(string name, string description)
    {
        var option = new Option<string?>(name) { Description = description, HelpName = "FILE.svg|FILE.png" };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is not string path)
            {
                return;
            }

            if (!PlotFile.IsSupported(path))
            {
                result.AddError($"{name} must name a {PlotFile.SupportedExtensions} file.");
            }
            else if (Path.GetDirectoryName(Path.GetFullPath(path)) is string folder && !Directory.Exists(folder))
            {
                result.AddError($"{name}: the folder {folder} does not exist.");
            }
        });
        return option;
    }

    public static Command Create()
    {
        var command = new Command("plot", "Draw pictures from saved results: udps load --json runs, or a bar chart description.");
        command.Subcommands.Add(RunCommand());
        command.Subcommands.Add(BarsCommand());
        return command;
    }

    private static Command RunCommand()
    {
        var files = new Argument<string[]>("json") { Description = "Files written by udps load --json.", Arity = ArgumentArity.OneOrMore };
        Option<string?> output = Output();
        var labels = new Option<string[]>("--label") { Description = "A name for each run in the legend, in order (default: the file names)." };
        var command = new Command("run", "Replies/s over time and the latency percentile distribution of one or more udps load --json runs.");
        command.Arguments.Add(files);
        command.Options.Add(output);
        command.Options.Add(labels);
        command.SetAction(parseResult =>
        {
            string[] paths = parseResult.GetRequiredValue(files);
            string[] names = parseResult.GetValue(labels) ?? [];
            if (names.Length > paths.Length)
            {
                Console.Error.WriteLine("udps plot run: more --label than files.");
                return 2;
            }

            return Draw("udps plot run", parseResult.GetRequiredValue(output)!, path => LoadPlot.Save(
                [.. paths.Select((p, i) => LoadPlotData.FromJson(p, i < names.Length ? names[i] : Path.GetFileNameWithoutExtension(p)))], path));
        });
        return command;
    }

    private static Command BarsCommand()
    {
        var spec = new Argument<string>("spec") { Description = "A bar chart description (JSON: categories, series, panels with title and values)." };
        Option<string?> output = Output();
        var command = new Command("bars", "A grouped bar chart, one panel per measure (bench/report.py's benchmark chart).");
        command.Arguments.Add(spec);
        command.Options.Add(output);
        command.SetAction(parseResult => Draw("udps plot bars", parseResult.GetRequiredValue(output)!,
            path => BarChart.Save(BarChartSpec.Read(parseResult.GetRequiredValue(spec)), path)));
        return command;
    }

    private static Option<string?> Output()
    {
        Option<string?> option = PictureOption("--out", "The picture to write: .svg or .png.");
        option.Required = true;
        return option;
    }

    private static int Draw(string commandName, string path, Action<string> draw)
    {
        try
        {
            draw(path);
        }
        catch (PlotException e)
        {
            Console.Error.WriteLine($"{commandName}: {e.Message}");
            return 2;
        }

        Console.WriteLine($"{commandName}: wrote {path}");
        return 0;
    }
}
