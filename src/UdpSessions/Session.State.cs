namespace UdpSessions;

public sealed partial class Session
{
    /// <summary>
    /// The state a <see cref="SessionHandler{TState}"/> made for this session (for posted work, timers, and code that
    /// walks a <see cref="SessionGroup"/> or <see cref="SessionServer.Sessions"/>; the handler's callbacks receive it
    /// directly). Throws <see cref="InvalidOperationException"/> when the session has no state of that type (another
    /// handler, or its CreateState threw).
    /// </summary>
    public TState GetState<TState>()
        where TState : class =>
        HandlerState as TState ?? throw new InvalidOperationException($"Session {Id} has no state of a SessionHandler<{typeof(TState).Name}>.");

    /// <summary>The state a <see cref="SessionHandler{TState}"/> made for this session, or null.</summary>
    internal object? HandlerState { get; private set; }

    /// <summary>The handler that made <see cref="HandlerState"/>.</summary>
    internal SessionHandler? HandlerStateOwner { get; private set; }

    internal void SetHandlerState(SessionHandler owner, object state)
    {
        HandlerState = state;
        HandlerStateOwner = owner;
    }
}
