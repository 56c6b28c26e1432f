namespace UdpSessions;

public sealed partial class Session
{
    // Made on the first join; most sessions never join a group and never pay for one.
    private Lock? _membershipLock;
    private List<SessionGroup>? _groups;
    private bool _leftGroups;

    /// <summary>Adds this session to <paramref name="group"/> unless it is there already or no longer open.</summary>
    internal bool Join(SessionGroup group)
    {
        Lock gate = Volatile.Read(ref _membershipLock) ?? Interlocked.CompareExchange(ref _membershipLock, new Lock(), null) ?? _membershipLock!;
        lock (gate)
        {
            // IsOpen is read after the lock exists; the close marks the session closed before it looks for the lock
            // (LeaveAllGroups), so one of them sees the other: a join never outlives the close.
            if (_leftGroups || !IsOpen || !group.AddMember(this))
            {
                return false;
            }

            (_groups ??= []).Add(group);
            return true;
        }
    }

    /// <summary>Takes this session out of <paramref name="group"/>; false when it was not in it.</summary>
    internal bool Leave(SessionGroup group)
    {
        Lock? gate = Volatile.Read(ref _membershipLock);
        if (gate is null)
        {
            return false;
        }

        lock (gate)
        {
            if (_groups is null || !_groups.Remove(group))
            {
                return false;
            }

            group.RemoveMember(this);
            return true;
        }
    }

    /// <summary>The session is closing (on its loop, after it was marked closed): it leaves every group, for good.</summary>
    internal void LeaveAllGroups()
    {
        Lock? gate = Volatile.Read(ref _membershipLock);
        if (gate is null)
        {
            return; // never joined, and a join from now on sees the session closed
        }

        lock (gate)
        {
            _leftGroups = true;
            if (_groups is null)
            {
                return;
            }

            foreach (SessionGroup group in _groups)
            {
                group.RemoveMember(this);
            }

            _groups = null;
        }
    }
}
