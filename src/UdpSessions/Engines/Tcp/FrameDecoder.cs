using System.Buffers;

namespace UdpSessions.Engines.Tcp;

/// <summary>
/// Cuts a TCP byte stream into messages. A frame that lies whole in the bytes just read is returned as a slice of them
/// (no copy); only a frame split across reads is gathered in a pooled buffer of exactly its size. Used by one thread
/// at a time (the session's I/O loop).
/// </summary>
internal sealed class FrameDecoder(TcpFraming framing, int maxFrameSize)
{
    private readonly int _headerSize = framing switch
    {
        TcpFraming.LengthPrefix32 => 4,
        TcpFraming.LengthPrefix16 => 2,
        _ => 0,
    };

    private uint _header;
    private int _headerHave;
    private byte[]? _body;
    private int _bodyLength;
    private int _bodyHave;
    private bool _bodyDelivered;

    /// <summary>The length announced by the frame that was too large (valid after <see cref="FrameResult.TooLarge"/>).</summary>
    public long RejectedLength { get; private set; }

    /// <summary>True while part of a frame (header or body) has been read and the rest has not.</summary>
    public bool HasPartialFrame => _headerHave > 0 || (_body is not null && !_bodyDelivered);

    /// <summary>
    /// Takes the next message from <paramref name="input"/> (advancing it). The frame is valid until the next call.
    /// <see cref="FrameResult.NeedMore"/> means every byte of the input was consumed into the partial frame.
    /// </summary>
    public FrameResult Next(ref ReadOnlySpan<byte> input, out ReadOnlySpan<byte> frame)
    {
        frame = default;
        ReleaseDeliveredBody();
        if (_headerSize == 0)
        {
            if (input.IsEmpty)
            {
                return FrameResult.NeedMore;
            }

            frame = input;
            input = default;
            return FrameResult.Frame;
        }

        if (_body is not null)
        {
            return ContinueBody(ref input, out frame);
        }

        if (_headerHave == 0 && input.Length >= _headerSize)
        {
            // The common case: the whole header is here; perhaps the whole frame too.
            uint length = _headerSize == 4
                ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(input)
                : System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(input);
            input = input[_headerSize..];
            return StartFrame(length, ref input, out frame);
        }

        while (_headerHave < _headerSize)
        {
            if (input.IsEmpty)
            {
                return FrameResult.NeedMore;
            }

            _header = (_header << 8) | input[0];
            input = input[1..];
            _headerHave++;
        }

        uint announced = _header;
        _header = 0;
        _headerHave = 0;
        return StartFrame(announced, ref input, out frame);
    }

    /// <summary>Returns the pooled buffer; the decoder must not be used afterwards.</summary>
    public void Dispose()
    {
        if (_body is not null)
        {
            ArrayPool<byte>.Shared.Return(_body);
            _body = null;
        }
    }

    private FrameResult StartFrame(uint length, ref ReadOnlySpan<byte> input, out ReadOnlySpan<byte> frame)
    {
        if (length > (uint)maxFrameSize)
        {
            RejectedLength = length;
            frame = default;
            return FrameResult.TooLarge;
        }

        int size = (int)length;
        if (input.Length >= size)
        {
            frame = input[..size];
            input = input[size..];
            return FrameResult.Frame;
        }

        _body = ArrayPool<byte>.Shared.Rent(size);
        _bodyLength = size;
        _bodyHave = 0;
        _bodyDelivered = false;
        return ContinueBody(ref input, out frame);
    }

    private FrameResult ContinueBody(ref ReadOnlySpan<byte> input, out ReadOnlySpan<byte> frame)
    {
        int take = Math.Min(input.Length, _bodyLength - _bodyHave);
        input[..take].CopyTo(_body!.AsSpan(_bodyHave));
        input = input[take..];
        _bodyHave += take;
        if (_bodyHave < _bodyLength)
        {
            frame = default;
            return FrameResult.NeedMore;
        }

        frame = _body.AsSpan(0, _bodyLength);
        _bodyDelivered = true; // returned to the pool on the next call, after the application has seen it
        return FrameResult.Frame;
    }

    private void ReleaseDeliveredBody()
    {
        if (_bodyDelivered)
        {
            ArrayPool<byte>.Shared.Return(_body!);
            _body = null;
            _bodyDelivered = false;
        }
    }
}

/// <summary>What <see cref="FrameDecoder.Next"/> found.</summary>
internal enum FrameResult
{
    /// <summary>A whole message.</summary>
    Frame,

    /// <summary>The input is used up; the rest of the frame comes with a later read.</summary>
    NeedMore,

    /// <summary>The next frame announces more than the maximum: the stream cannot be followed any further.</summary>
    TooLarge,
}
