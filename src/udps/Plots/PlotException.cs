namespace UdpSessions.Cli.Plots;

/// <summary>A picture could not be drawn or written; the message says why, for the user.</summary>
internal sealed class PlotException : Exception
{
    public PlotException(string message)
        : base(message)
    {
    }

    public PlotException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
