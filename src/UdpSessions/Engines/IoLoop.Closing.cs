using UdpSessions.Internal;

namespace UdpSessions.Engines;

/// <summary>
/// Where a session enters and leaves the application's view: listed once accepted, and at its close taken out of its
/// groups and given its goodbye before its socket goes away.
/// </summary>
internal abstract partial class IoLoop
{
    /// <summary>
    /// Lists an accepted session for <see cref="SessionServer.Sessions"/> once its OnSessionAccepted has returned (so
    /// whoever finds it there finds its state set up), unless it was closed in there. Its close, later on this same
    /// loop, takes it out again.
    /// </summary>
    private void ListIfOpen(Session session)
    {
        if (session.IsOpen)
        {
            Engine.Registry.List(session);
        }
    }

    /// <summary>
    /// After a session's closing hook: an engine that queues sends sends them now, so that what the hook sent has left
    /// before <see cref="SessionHandler.OnSessionClosed"/> runs, whether or not the session had a socket of its own.
    /// </summary>
    protected virtual void GoodbyeSaid()
    {
    }

    /// <summary>
    /// Takes a closing session out of its groups, then runs the handler's <see cref="SessionHandler.OnSessionClosing"/>
    /// with sends let through (the socket is released only after it, and the epoll engine flushes its send batch
    /// before retiring a socket), and counts an application reason.
    /// </summary>
    private void SayGoodbye(Session session, SessionCloseReason reason)
    {
        session.LeaveAllGroups();
        session.SayingGoodbye = true;
        try
        {
            Handler.OnSessionClosing(session, reason);
        }
        catch (Exception exception)
        {
            Counters.HandlerErrors++;
            Log.HandlerFailed(Engine.Logger, nameof(SessionHandler.OnSessionClosing), session.Id, session.RemoteEndPoint, exception);
        }
        finally
        {
            session.SayingGoodbye = false;
        }

        GoodbyeSaid();

        if (session.ApplicationCloseReason is { } applicationReason)
        {
            Engine.CloseReasons.Count(applicationReason);
        }
    }
}
