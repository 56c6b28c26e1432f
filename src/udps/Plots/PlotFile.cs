using ScottPlot;
using SkiaSharp;

namespace UdpSessions.Cli.Plots;

/// <summary>Writes a ScottPlot figure to an .svg or .png file, chosen by the file's extension.</summary>
internal static class PlotFile
{
    // Sans-serif families in order of preference; the first one installed is used for all text.
    private static readonly string[] PreferredFonts = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Segoe UI", "Arial", "Helvetica"];

    public const string SupportedExtensions = ".svg or .png";

    public static bool IsSupported(string path) =>
        Path.GetExtension(path).ToUpperInvariant() is ".SVG" or ".PNG";

    /// <summary>Renders <paramref name="figure"/> at <paramref name="width"/> x <paramref name="height"/> pixels into <paramref name="path"/>.</summary>
    /// <exception cref="PlotException">The file cannot be written, or SkiaSharp's native library is missing on this platform.</exception>
    public static void Save(Multiplot figure, string path, int width, int height)
    {
        if (!IsSupported(path))
        {
            throw new PlotException($"{path}: a picture must be {SupportedExtensions}.");
        }

        try
        {
            UseInstalledFont(figure);
            if (Path.GetExtension(path).Equals(".svg", StringComparison.OrdinalIgnoreCase))
            {
                // The first render settles the layout (axis limits, tick label sizes), which ScottPlot otherwise does by
                // drawing everything twice: on an SVG canvas both passes would end up in the file.
                figure.Render(width, height).Dispose();
                using FileStream stream = File.Create(path);
                // The SVG canvas writes the document when it is disposed, before the stream is.
                using (SKCanvas canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), stream))
                {
                    figure.Render(canvas, new PixelRect(0, width, height, 0));
                }
            }
            else
            {
                figure.SavePng(path, width, height);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or BadImageFormatException)
        {
            throw new PlotException($"cannot draw {path}: SkiaSharp's native library is not available on this platform ({e.GetBaseException().Message}).", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PlotException($"cannot write {path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Text needs an installed font: SkiaSharp's Linux build reads the font files itself (no fontconfig). Without any,
    /// the picture is drawn without its text, and a warning says how to fix that.
    /// </summary>
    private static void UseInstalledFont(Multiplot figure)
    {
        // Without any font file, Skia still lists one family: with an empty name.
        string[] installed = [.. SKFontManager.Default.FontFamilies.Where(family => !string.IsNullOrEmpty(family))];
        if (installed.Length == 0)
        {
            Console.Error.WriteLine("udps: no fonts are installed, so the picture has no text (Debian/Ubuntu: apt-get install fonts-dejavu-core).");
            return;
        }

        string? family = PreferredFonts.FirstOrDefault(f => installed.Contains(f, StringComparer.OrdinalIgnoreCase));
        if (family is not null)
        {
            foreach (Plot plot in figure.GetPlots())
            {
                plot.Font.Set(family);
                plot.Legend.FontName = family; // a legend's manual items keep their own font otherwise
            }
        }
    }
}
