using System.Buffers;
using UdpSessions.Engines;

namespace UdpSessions.Internal;

/// <summary>One datagram to many sessions (<see cref="SessionGroup"/>, <see cref="SessionServer.Broadcast(ReadOnlySpan{byte})"/>): handed to each session's engine.</summary>
internal static class Broadcaster
{
    public static int Send(ReadOnlySpan<Session> sessions, ReadOnlySpan<byte> datagram, Session? except)
    {
        if (sessions.IsEmpty)
        {
            return 0;
        }

        UdpEngine engine = sessions[0].Home.Engine;
        foreach (Session session in sessions)
        {
            if (session.Home.Engine != engine)
            {
                return SendPerEngine(sessions, datagram, except);
            }
        }

        return engine.SendToMany(sessions, datagram, except);
    }

    /// <summary>A group with sessions of several servers: each server's members in one call to its engine.</summary>
    private static int SendPerEngine(ReadOnlySpan<Session> sessions, ReadOnlySpan<byte> datagram, Session? except)
    {
        Session[] part = ArrayPool<Session>.Shared.Rent(sessions.Length);
        var engines = new HashSet<UdpEngine>();
        int handed = 0;
        try
        {
            foreach (Session first in sessions)
            {
                UdpEngine engine = first.Home.Engine;
                if (!engines.Add(engine))
                {
                    continue;
                }

                int count = 0;
                foreach (Session session in sessions)
                {
                    if (session.Home.Engine == engine)
                    {
                        part[count++] = session;
                    }
                }

                handed += engine.SendToMany(part.AsSpan(0, count), datagram, except);
            }
        }
        finally
        {
            ArrayPool<Session>.Shared.Return(part, clearArray: true);
        }

        return handed;
    }
}
