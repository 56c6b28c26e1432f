using UdpSessions.Internal;

namespace UdpSessions.Tests.Internal;

/// <summary>The (slot, generation) table behind epoll event data.</summary>
public class SessionTableTests
{
    [Fact]
    public void A_stale_generation_is_not_found_after_its_slot_is_reused()
    {
        var table = new SessionTable(16);
        Session first = InternalFixtures.NewSession();
        table.Add(first);
        (int slot, int generation) = SessionTable.FromEventData(SessionTable.ToEventData(first));
        Assert.Equal(first.Slot, slot);
        Assert.Equal(first.Generation, generation);
        Assert.Same(first, table.Find(slot, generation));

        table.Remove(first);
        Assert.Equal(-1, first.Slot);
        Assert.Null(table.Find(slot, generation));

        Session second = InternalFixtures.NewSession();
        table.Add(second);
        Assert.Equal(slot, second.Slot); // the freed slot is reused...
        Assert.NotEqual(generation, second.Generation); // ...under a new generation
        Assert.Null(table.Find(slot, generation)); // so the closed session's late event finds nothing
        Assert.Same(second, table.Find(second.Slot, second.Generation));
    }

    [Fact]
    public void Removing_twice_does_not_free_the_slot_twice()
    {
        var table = new SessionTable(16);
        Session a = InternalFixtures.NewSession();
        table.Add(a);
        table.Remove(a);
        table.Remove(a);
        Session b = InternalFixtures.NewSession();
        Session c = InternalFixtures.NewSession();
        table.Add(b);
        table.Add(c);
        Assert.NotEqual(b.Slot, c.Slot);
        Assert.Same(b, table.Find(b.Slot, b.Generation));
        Assert.Same(c, table.Find(c.Slot, c.Generation));
    }

    [Fact]
    public void Many_sessions_across_chunks_are_each_found_and_out_of_range_slots_are_not()
    {
        var table = new SessionTable(10_000);
        Session[] sessions = [.. Enumerable.Range(0, 10_000).Select(_ => InternalFixtures.NewSession())];
        foreach (Session session in sessions)
        {
            table.Add(session);
        }

        Assert.Equal(sessions.Length, sessions.Select(s => s.Slot).Distinct().Count());
        Assert.All(sessions, s => Assert.Same(s, table.Find(s.Slot, s.Generation)));
        Assert.Null(table.Find(1 << 20, sessions[0].Generation));
        Assert.Null(table.Find(-1, sessions[0].Generation));

        ulong data = SessionTable.ToEventData(sessions[^1]);
        Assert.Equal((sessions[^1].Slot, sessions[^1].Generation), SessionTable.FromEventData(data));
    }
}
