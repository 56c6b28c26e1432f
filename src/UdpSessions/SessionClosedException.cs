namespace UdpSessions;

/// <summary>Thrown by the async session API when the session has ended.</summary>
public sealed class SessionClosedException : InvalidOperationException
{
    /// <summary>Creates the exception for a session that ended for <paramref name="reason"/>.</summary>
    public SessionClosedException(SessionCloseReason reason)
        : base($"The session is closed ({reason}).") => Reason = reason;

    /// <summary>Creates the exception with a message.</summary>
    public SessionClosedException()
        : base("The session is closed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public SessionClosedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public SessionClosedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Why the session ended.</summary>
    public SessionCloseReason Reason { get; }
}
