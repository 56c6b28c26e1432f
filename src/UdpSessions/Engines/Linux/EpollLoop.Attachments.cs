using UdpSessions.Interop.Linux;
using static UdpSessions.Interop.Linux.EpollConstants;

namespace UdpSessions.Engines.Linux;

/// <summary>
/// Extra sockets of a session in its home loop's epoll (<see cref="SocketAttachment"/>): their events lead back to
/// their callback object through <see cref="AttachmentTable"/>, on this thread, with no lookup; they are detached and
/// closed when their session closes at the latest.
/// </summary>
internal sealed partial class EpollLoop
{
    private readonly AttachmentTable _attachments = new();

    // Attachments by session, for detaching them all when the session closes (a close costs one lookup while any
    // attachment exists; the datagram path never looks here).
    private readonly Dictionary<Session, SocketAttachment> _attachmentsBySession = new(ReferenceEqualityComparer.Instance);

    // A detach can happen while the loop's receive batch is being delivered (a session closed mid-batch), so what a
    // detached socket still holds is read into a batch of its own.
    private ReceiveBatch? _detachBatch;

    /// <summary>Sockets attached to this loop's sessions now.</summary>
    public int AttachedSockets => _attachments.Count;

    /// <summary>
    /// Registers <paramref name="socket"/> in this loop's epoll on behalf of <paramref name="session"/> (a session of
    /// this loop, open), level-triggered for reading; <paramref name="attachment"/>'s callbacks then run on this
    /// thread. On success the loop owns the socket (closed at the detach); on failure (errno from epoll_ctl, or EINVAL
    /// for a closed session) the caller still does. Only on this loop's thread.
    /// </summary>
    public bool TryAttach(Session session, SafeFdHandle socket, SocketAttachment attachment, out int errno)
    {
        if (!IsCurrentThread)
        {
            throw new InvalidOperationException("Sockets are attached on the session's own I/O thread.");
        }

        if (session.Home != this || !session.IsOpen || attachment.IsAttached || !_attachments.TryAdd(attachment, out ulong tag))
        {
            errno = Errno.EINVAL;
            return false;
        }

        if (!_epoll.TryControl(EPOLL_CTL_ADD, socket, EPOLLIN, tag, out errno))
        {
            _attachments.Remove(attachment);
            return false;
        }

        attachment.Session = session;
        attachment.Socket = socket;
        _attachmentsBySession.TryGetValue(session, out SocketAttachment? first);
        attachment.NextOfSession = first;
        _attachmentsBySession[session] = attachment;
        return true;
    }

    /// <summary>
    /// Takes the socket out of the epoll, lets its owner read what is left (<see cref="SocketAttachment.OnDetached"/>),
    /// then closes it. No-op when it is not attached. On this loop's thread (or the stopping thread after it ended).
    /// </summary>
    public void Detach(SocketAttachment attachment)
    {
        if (!attachment.IsAttached)
        {
            return;
        }

        Session session = attachment.Session!;
        if (_attachmentsBySession.TryGetValue(session, out SocketAttachment? first))
        {
            if (first == attachment)
            {
                if (attachment.NextOfSession is { } next)
                {
                    _attachmentsBySession[session] = next;
                }
                else
                {
                    _attachmentsBySession.Remove(session);
                }
            }
            else
            {
                SocketAttachment previous = first;
                while (previous.NextOfSession is { } candidate && candidate != attachment)
                {
                    previous = candidate;
                }

                previous.NextOfSession = attachment.NextOfSession;
            }
        }

        attachment.NextOfSession = null;
        _attachments.Remove(attachment);
        _epoll.Remove(attachment.Socket!);
        try
        {
            attachment.OnDetached(_detachBatch ??= new ReceiveBatch(MaxDatagramSize, withPacketInfo: false));
        }
        catch (Exception exception)
        {
            HandlerFailed(session, nameof(SocketAttachment.OnDetached), exception);
        }
        finally
        {
            attachment.Socket!.Dispose();
        }
    }

    protected override void DetachAttachments(Session session)
    {
        while (_attachmentsBySession.Count > 0 && _attachmentsBySession.TryGetValue(session, out SocketAttachment? attachment))
        {
            Detach(attachment);
        }
    }

    /// <summary>An event of an attached socket (its tag has <see cref="AttachmentTable.TagBit"/>); stale ones are ignored.</summary>
    private void DispatchAttachment(ulong tag)
    {
        if (_attachments.Find(tag) is not { } attachment)
        {
            return;
        }

        try
        {
            attachment.OnReadable(_receive);
        }
        catch (Exception exception)
        {
            HandlerFailed(attachment.Session!, nameof(SocketAttachment.OnReadable), exception);
        }
    }
}
