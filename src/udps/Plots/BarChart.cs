using ScottPlot;

namespace UdpSessions.Cli.Plots;

/// <summary>Draws a <see cref="BarChartSpec"/>: panels stacked, bars grouped by category, series told apart by colour.</summary>
internal static class BarChart
{
    public const int Width = 1000;
    public const int HeightPerPanel = 360;

    public static void Save(BarChartSpec spec, string path) => PlotFile.Save(Build(spec), path, Width, HeightPerPanel * spec.Panels.Count);

    public static Multiplot Build(BarChartSpec spec)
    {
        var figure = new Multiplot();
        figure.AddPlots(spec.Panels.Count);
        figure.Layout = new ScottPlot.MultiplotLayouts.Rows();
        var palette = new ScottPlot.Palettes.Category10();
        int groupWidth = spec.Series.Count + 1; // one bar's width of space between groups
        double[] groupCenters = [.. spec.Categories.Select((_, c) => (c * groupWidth) + ((spec.Series.Count - 1) / 2.0))];

        for (int p = 0; p < spec.Panels.Count; p++)
        {
            Plot plot = figure.GetPlot(p);
            BarPanel panel = spec.Panels[p];
            var bars = new List<Bar>();
            for (int s = 0; s < spec.Series.Count; s++)
            {
                for (int c = 0; c < spec.Categories.Count; c++)
                {
                    if (panel.Values[s][c] is double value)
                    {
                        bars.Add(new Bar { Position = (c * groupWidth) + s, Value = value, FillColor = palette.GetColor(s), LineWidth = 0 });
                    }
                }

                plot.Legend.ManualItems.Add(new LegendItem { LabelText = spec.Series[s], FillColor = palette.GetColor(s) });
            }

            plot.Add.Bars(bars);
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(groupCenters, [.. spec.Categories]);
            plot.Axes.Margins(bottom: 0);
            plot.Title(panel.Title);
            plot.ShowLegend(Edge.Right);
        }

        return figure;
    }
}
