using UdpSessions.Engines.Linux;

namespace UdpSessions.Tests.Internal;

/// <summary>The table behind attached sockets' epoll tags: found by tag, stale tags ignored, never confused with sessions.</summary>
public class AttachmentTableTests
{
    [Fact]
    public void A_tag_finds_its_attachment_until_it_is_removed_and_a_reused_slot_gets_a_new_generation()
    {
        var table = new AttachmentTable();
        var first = new Probe();
        Assert.True(table.TryAdd(first, out ulong firstTag));
        Assert.Same(first, table.Find(firstTag));
        Assert.NotEqual(0UL, firstTag & AttachmentTable.TagBit); // the bit the loop tells attachments from sessions by

        table.Remove(first);
        Assert.False(first.IsAttached);
        Assert.Null(table.Find(firstTag));

        var second = new Probe();
        Assert.True(table.TryAdd(second, out ulong secondTag));
        Assert.Equal((uint)firstTag, (uint)secondTag); // the same slot...
        Assert.NotEqual(firstTag, secondTag); // ...under another generation
        Assert.Null(table.Find(firstTag)); // so an event of the removed one still in flight finds nothing
        Assert.Same(second, table.Find(secondTag));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void The_table_grows_and_session_tags_never_look_like_attachments()
    {
        var table = new AttachmentTable();
        var probes = Enumerable.Range(0, 1_000).Select(_ => new Probe()).ToList();
        var tags = probes.Select(p => table.TryAdd(p, out ulong tag) ? tag : throw new InvalidOperationException()).ToList();
        for (int i = 0; i < probes.Count; i++)
        {
            Assert.Same(probes[i], table.Find(tags[i]));
        }

        Session session = InternalFixtures.NewSession();
        new UdpSessions.Internal.SessionTable(16).Add(session);
        Assert.Equal(0UL, UdpSessions.Internal.SessionTable.ToEventData(session) & AttachmentTable.TagBit);
    }

    private sealed class Probe : SocketAttachment
    {
        protected internal override void OnReadable(ReceiveBatch batch)
        {
        }

        protected internal override void OnDetached(ReceiveBatch batch)
        {
        }
    }
}
