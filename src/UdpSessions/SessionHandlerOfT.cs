using System.Runtime.CompilerServices;

namespace UdpSessions;

/// <summary>
/// A <see cref="SessionHandler"/> with a typed state object per session: <see cref="CreateState"/> makes it when the
/// session is accepted, and every callback receives it, without a cast (the state is kept where only this class
/// writes it, so the callback path reads it back unchecked and allocation-free). Posted work, timers and code that
/// walks a <see cref="SessionGroup"/> reach it with <see cref="Session.GetState{TState}"/>. Threading is that of
/// <see cref="SessionHandler"/>: callbacks of one session never run concurrently, so the state needs no lock when only
/// they (and the session's posted work and timers) touch it.
/// </summary>
/// <typeparam name="TState">The per-session state, a class.</typeparam>
public abstract class SessionHandler<TState> : SessionHandler
    where TState : class
{
    /// <summary>Makes a new session's state, on its I/O thread, before <see cref="OnSessionAccepted(Session, TState)"/>.</summary>
    protected abstract TState CreateState(Session session);

    /// <summary>A new peer was accepted with <paramref name="state"/>; its first datagram follows.</summary>
    public virtual void OnSessionAccepted(Session session, TState state)
    {
    }

    /// <summary>A datagram arrived; see <see cref="SessionHandler.OnDatagram(Session, ReadOnlySpan{byte})"/>.</summary>
    public abstract void OnDatagram(Session session, TState state, ReadOnlySpan<byte> datagram);

    /// <summary>The session is closing and can still send: see <see cref="SessionHandler.OnSessionClosing(Session, SessionCloseReason)"/>.</summary>
    public virtual void OnSessionClosing(Session session, TState state, SessionCloseReason reason)
    {
    }

    /// <summary>The session ended; see <see cref="SessionHandler.OnSessionClosed(Session, SessionCloseReason)"/>.</summary>
    public virtual void OnSessionClosed(Session session, TState state, SessionCloseReason reason)
    {
    }

    /// <inheritdoc />
    public sealed override void OnSessionAccepted(Session session)
    {
        TState state = CreateState(session) ?? throw new InvalidOperationException($"{GetType().Name}.CreateState returned null.");
        session.SetHandlerState(this, state);
        OnSessionAccepted(session, state);
    }

    /// <inheritdoc />
    public sealed override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) => OnDatagram(session, StateOf(session), datagram);

    /// <inheritdoc />
    public sealed override void OnSessionClosing(Session session, SessionCloseReason reason)
    {
        if (HasState(session))
        {
            OnSessionClosing(session, StateOf(session), reason);
        }
    }

    /// <inheritdoc />
    public sealed override void OnSessionClosed(Session session, SessionCloseReason reason)
    {
        if (HasState(session))
        {
            OnSessionClosed(session, StateOf(session), reason);
        }
    }

    // What this handler stored is a TState: after the owner check (one load and compare, as cheap as a cast to a
    // sealed class and cheaper than one to a class that has subclasses) the read is unchecked. The check keeps a
    // callback called by hand with another handler's session from reading that session's state as a TState.
    private TState StateOf(Session session)
    {
        if (!ReferenceEquals(session.HandlerStateOwner, this))
        {
            ThrowNoState(session);
        }

        return Unsafe.As<TState>(session.HandlerState!);
    }

    private bool HasState(Session session) => ReferenceEquals(session.HandlerStateOwner, this);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowNoState(Session session) =>
        throw new InvalidOperationException($"Session {session.Id} has no state of this SessionHandler<{typeof(TState).Name}> (another handler's session, or its CreateState threw).");
}
