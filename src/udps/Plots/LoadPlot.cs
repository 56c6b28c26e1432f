using System.Globalization;
using ScottPlot;
using UdpSessions.Cli.Load;

namespace UdpSessions.Cli.Plots;

/// <summary>
/// The picture of one or more load runs: replies/s over time (measured phase shaded) above, the latency percentile
/// distribution below, on the usual HdrHistogram axis where 90 %, 99 %, 99.9 % ... are evenly spaced, and latency on a
/// log scale so that one run's stall does not flatten the others.
/// </summary>
internal static class LoadPlot
{
    public const int Width = 1000;
    public const int Height = 800;

    // The axis stops at 99.9999 %: the 100 % point (the maximum) would lie at infinity.
    private const int MaxNines = 6;

    public static void Save(IReadOnlyList<LoadPlotData> runs, string path) => PlotFile.Save(Build(runs), path, Width, Height);

    public static Multiplot Build(IReadOnlyList<LoadPlotData> runs)
    {
        var figure = new Multiplot();
        figure.AddPlots(2);
        figure.Layout = new ScottPlot.MultiplotLayouts.Rows();
        DrawRates(figure.GetPlot(0), runs);
        DrawLatency(figure.GetPlot(1), runs);
        return figure;
    }

    private static void DrawRates(Plot plot, IReadOnlyList<LoadPlotData> runs)
    {
        var palette = new ScottPlot.Palettes.Category10();
        foreach ((double start, double end) in runs.Select(r => (r.MeasureStartSeconds, r.MeasureEndSeconds)).Distinct())
        {
            plot.Add.HorizontalSpan(start, end).FillStyle.Color = Colors.Gray.WithAlpha(0.15);
        }

        for (int i = 0; i < runs.Count; i++)
        {
            LoadPlotData run = runs[i];
            // The drain's empty intervals after the last reply say nothing: the line stops one interval after it.
            int intervals = Math.Min(run.Replies.Length, Array.FindLastIndex(run.Replies, count => count > 0) + 2);
            if (intervals == 0)
            {
                continue;
            }

            // Each interval's rate is drawn at the interval's end, when its count is complete.
            double[] seconds = [.. Enumerable.Range(1, intervals).Select(k => k * run.IntervalSeconds)];
            double[] rates = [.. run.Replies.Take(intervals).Select(count => count / run.IntervalSeconds)];
            var line = plot.Add.ScatterLine(seconds, rates, palette.GetColor(i));
            line.LegendText = run.Label;
            line.LineWidth = 1.5f;
        }

        plot.Title("replies/s over time (measured phase shaded)");
        plot.XLabel("seconds since start");
        plot.YLabel("replies/s");
        plot.Axes.Margins(bottom: 0);
        plot.HideLegend(); // the latency panel's legend names the same colours
    }

    private static void DrawLatency(Plot plot, IReadOnlyList<LoadPlotData> runs)
    {
        var palette = new ScottPlot.Palettes.Category10();
        double widest = 1;
        for (int i = 0; i < runs.Count; i++)
        {
            IReadOnlyList<LatencyPoint> points = runs[i].Latency;
            if (points.Count == 0)
            {
                continue;
            }

            double[] x = [.. points.Select(p => Nines(p.Percentile))];
            double[] micros = [.. points.Select(p => Math.Log10(Math.Max(1, p.Micros)))];
            widest = Math.Max(widest, x.Max());
            var line = plot.Add.ScatterLine(x, micros, palette.GetColor(i));
            line.LegendText = runs[i].Label;
            line.LineWidth = 1.5f;
        }

        int nines = Math.Clamp((int)Math.Ceiling(widest), 1, MaxNines);
        double[] ticks = [Math.Log10(2), .. Enumerable.Range(1, nines).Select(n => (double)n)];
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks, [.. ticks.Select(PercentileLabel)]);
        plot.Axes.SetLimitsX(0, nines);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = log => Math.Pow(10, log).ToString("N0", CultureInfo.InvariantCulture),
        };
        plot.Title("latency by percentile (measured phase)");
        plot.XLabel("percentile");
        plot.YLabel("latency (µs, log scale)");
        plot.Axes.Right.MinimumSize = 40; // room for the last percentile's label
        // One legend for both panels (the colours are the same), below the tails.
        plot.ShowLegend(Alignment.LowerRight);
    }

    /// <summary>90 % is 1, 99 % is 2, 99.9 % is 3: the number of nines.</summary>
    private static double Nines(double percentile) => -Math.Log10(Math.Max(1 - (percentile / 100), Math.Pow(10, -MaxNines)));

    private static string PercentileLabel(double nines) =>
        (100 * (1 - Math.Pow(10, -nines))).ToString("0.#####", CultureInfo.InvariantCulture) + " %";
}
