using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using SkiaSharp;

namespace UdpSessions.Cli.Tests;

/// <summary>
/// The pictures as users make them: <c>udps load --plot</c> after a short real run over loopback, <c>udps plot run</c>
/// from its JSON, <c>udps plot bars</c> from a description; each file opened and checked for its panels, series and labels.
/// </summary>
public sealed class PlotTests : IDisposable
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private const string FirstSeriesColor = "#1F77B4"; // ScottPlot's Category10 palette, first colour
    private readonly string _folder = Directory.CreateTempSubdirectory("udps-plot-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact(Timeout = 120_000)]
    public async Task Load_plot_draws_replies_over_time_and_the_latency_distribution_of_the_run()
    {
        string svg = Path.Combine(_folder, "load.svg");
        string json = Path.Combine(_folder, "load.json");
        await RunLoadAsync(svg, json, TestContext.Current.CancellationToken);

        // The JSON carries the pictures' data: every reply in the timeline, the distribution up to the maximum.
        using (JsonDocument document = JsonDocument.Parse(File.ReadAllText(json)))
        {
            JsonElement root = document.RootElement;
            long[] timeline = [.. root.GetProperty("timeline").GetProperty("replies").EnumerateArray().Select(r => r.GetInt64())];
            Assert.Equal(root.GetProperty("replies").GetInt64(), timeline.Sum());
            Assert.True(timeline.Count(r => r > 0) >= 10, $"replies spread over {timeline.Count(r => r > 0)} intervals");
            JsonElement[] percentiles = [.. root.GetProperty("latencyPercentiles").EnumerateArray()];
            Assert.True(percentiles.Length >= 10, $"{percentiles.Length} points");
            long[] micros = [.. percentiles.Select(p => p.GetProperty("micros").GetInt64())];
            Assert.Equal(micros.Order(), micros);
            Assert.Equal(root.GetProperty("latencyMicros").GetProperty("max").GetInt64(), micros[^1]);
            Assert.True(percentiles[^1].GetProperty("percentile").GetDouble() < 100);
        }

        XDocument picture = XDocument.Load(svg);
        Assert.Equal(Svg + "svg", picture.Root!.Name);
        Assert.Equal("1000", (string?)picture.Root.Attribute("width"));
        Assert.Equal("800", (string?)picture.Root.Attribute("height"));
        string[] texts = Texts(picture);
        foreach (string label in (string[])["replies/s over time (measured phase shaded)", "latency by percentile (measured phase)",
                     "replies/s", "latency (µs, log scale)", "seconds since start", "percentile", "99 %", "8 sessions, window 2"])
        {
            Assert.Contains(label, texts);
        }

        // One line per panel in the run's colour, each through many points (a line of two points would be a stub).
        string[] lines = [.. picture.Descendants(Svg + "path")
            .Where(p => (string?)p.Attribute("stroke") == FirstSeriesColor && (string?)p.Attribute("fill") == "none")
            .Select(p => (string)p.Attribute("d")!)
            .Where(d => d.Count(c => c == 'L') >= 8)];
        Assert.Equal(2, lines.Length);
        Assert.True(new FileInfo(svg).Length > 20_000, $"{new FileInfo(svg).Length} bytes");
    }

    [Fact(Timeout = 120_000)]
    public async Task Plot_run_redraws_the_json_of_a_run_as_a_png()
    {
        string json = Path.Combine(_folder, "run.json");
        await RunLoadAsync(plot: null, json, TestContext.Current.CancellationToken);
        string png = Path.Combine(_folder, "run.png");

        (int exit, UdpsProcess run) = await UdpsProcess.RunAsync(ProcessTimeout, TestContext.Current.CancellationToken, "plot", "run", json, "--out", png, "--label", "echo");
        using (run)
        {
            Assert.True(exit == 0, run.ToString());
        }

        byte[] bytes = File.ReadAllBytes(png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], bytes[..8]);
        Assert.Equal(1000, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
        Assert.Equal(800, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
        using SKBitmap bitmap = SKBitmap.Decode(png);
        SKColor series = SKColor.Parse(FirstSeriesColor);
        int seriesPixels = 0, textPixels = 0;
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                SKColor pixel = bitmap.GetPixel(x, y);
                seriesPixels += Near(pixel, series) ? 1 : 0;
                textPixels += pixel.Red < 80 && pixel.Green < 80 && pixel.Blue < 80 ? 1 : 0;
            }
        }

        // Two lines across most of the width, and text and axes: a blank or near-blank picture has neither.
        Assert.True(seriesPixels > 1_000, $"{seriesPixels} pixels of the series colour");
        Assert.True(textPixels > 2_000, $"{textPixels} dark pixels");
    }

    [Fact(Timeout = 60_000)]
    public async Task Plot_bars_draws_every_value_of_every_series_in_every_panel()
    {
        string spec = Path.Combine(_folder, "bars.json");
        File.WriteAllText(spec, """
            { "categories": ["1x16", "64x16", "churn"], "series": ["udps-level", "c-connected"],
              "panels": [ { "title": "server CPU per datagram", "values": [[2.5, 2.75, null], [2.25, 2.5, 3.0]] },
                          { "title": "replies per second", "values": [[100000, 120000, 5000], [110000, 125000, 6000]] } ] }
            """);
        string svg = Path.Combine(_folder, "bars.svg");

        (int exit, UdpsProcess run) = await UdpsProcess.RunAsync(ProcessTimeout, TestContext.Current.CancellationToken, "plot", "bars", spec, "--out", svg);
        using (run)
        {
            Assert.True(exit == 0, run.ToString());
        }

        XDocument picture = XDocument.Load(svg);
        string[] texts = Texts(picture);
        foreach (string label in (string[])["server CPU per datagram", "replies per second", "1x16", "64x16", "churn", "udps-level", "c-connected"])
        {
            Assert.Contains(label, texts);
        }

        // udps-level has 5 values (one gap) over the two panels, plus its legend swatch in each panel.
        int firstSeriesRects = picture.Descendants(Svg + "rect").Count(r => (string?)r.Attribute("fill") == FirstSeriesColor);
        Assert.Equal(5 + 2, firstSeriesRects);
    }

    [Fact(Timeout = 60_000)]
    public async Task Without_fonts_the_picture_is_drawn_without_text_and_udps_says_what_to_install()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && Directory.Exists("/usr/share/fonts"), "needs Linux and a /usr/share/fonts to hide");
        string spec = Path.Combine(_folder, "bars.json");
        File.WriteAllText(spec, """{ "categories": ["a", "b"], "series": ["s"], "panels": [ { "title": "t", "values": [[1, 2]] } ] }""");
        string empty = Directory.CreateDirectory(Path.Combine(_folder, "no-fonts")).FullName;
        string svg = Path.Combine(_folder, "bare.svg");

        // A private mount namespace where the font folder is empty: the machine's fonts stay as they are for everyone else.
        var info = new System.Diagnostics.ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in (string[])["-m", "sh", "-c",
                     $"mount --bind '{empty}' /usr/share/fonts || exit 99; exec dotnet '{Path.Combine(AppContext.BaseDirectory, "udps.dll")}' plot bars '{spec}' --out '{svg}'"])
        {
            info.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        string stdout = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        limit.CancelAfter(ProcessTimeout);
        await process.WaitForExitAsync(limit.Token);
        string errors = await stderr;
        Assert.SkipWhen(process.ExitCode == 99 || errors.Contains("unshare failed", StringComparison.Ordinal), $"no private mount namespace here (needs CAP_SYS_ADMIN): {errors}");

        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {stdout} {errors}");
        Assert.Contains("no fonts are installed", errors);
        Assert.Contains("fonts-dejavu-core", errors);
        XDocument picture = XDocument.Load(svg);
        Assert.Empty(picture.Descendants(Svg + "text"));
        Assert.Equal(2 + 1, picture.Descendants(Svg + "rect").Count(r => (string?)r.Attribute("fill") == FirstSeriesColor));
    }

    [Theory(Timeout = 60_000)]
    [InlineData("load", "--port", "9", "--plot", "picture.pdf")]
    [InlineData("plot", "run", "missing.json", "--out", "x.gif")]
    public async Task A_picture_of_an_unsupported_type_is_a_usage_error(params string[] arguments)
    {
        (int exit, UdpsProcess run) = await UdpsProcess.RunAsync(ProcessTimeout, TestContext.Current.CancellationToken, arguments);
        using (run)
        {
            Assert.True(exit == 2, run.ToString());
            Assert.Contains(".svg or .png", run.StandardError);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Plot_run_of_a_file_that_is_not_load_json_says_so_with_exit_code_2()
    {
        string notJson = Path.Combine(_folder, "other.json");
        File.WriteAllText(notJson, """{ "sent": 3 }""");
        (int exit, UdpsProcess run) = await UdpsProcess.RunAsync(ProcessTimeout, TestContext.Current.CancellationToken,
            "plot", "run", notJson, "--out", Path.Combine(_folder, "x.svg"));
        using (run)
        {
            Assert.True(exit == 2, run.ToString());
            Assert.Contains("not the JSON of udps load --json", run.StandardError);
            Assert.False(File.Exists(Path.Combine(_folder, "x.svg")));
        }
    }

    /// <summary>A short closed-loop run of 8 sessions against a correct echo, with --json (and --plot when given).</summary>
    private static async Task RunLoadAsync(string? plot, string json, CancellationToken cancellationToken)
    {
        await using SessionServer server = await LoadRuns.StartCorrectEchoAsync(cancellationToken);
        string[] arguments =
        [
            "load", "--port", server.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture), "--sessions", "8", "--window", "2",
            "--warmup", "0.5", "--duration", "1.5", "--timeout-ms", "300", "--json", .. plot is null ? (string[])[] : ["--plot", plot],
        ];
        (int exit, UdpsProcess run) = await UdpsProcess.RunAsync(ProcessTimeout, cancellationToken, arguments);
        using (run)
        {
            Assert.True(exit == 0, run.ToString());
            File.WriteAllText(json, run.StandardOutput);
            if (plot is not null)
            {
                Assert.Contains($"plot written to {plot}", run.StandardError);
            }
        }
    }

    private static string[] Texts(XDocument svg) => [.. svg.Descendants(Svg + "text").Select(t => t.Value.Trim())];

    private static bool Near(SKColor a, SKColor b) =>
        Math.Abs(a.Red - b.Red) < 24 && Math.Abs(a.Green - b.Green) < 24 && Math.Abs(a.Blue - b.Blue) < 24;
}
