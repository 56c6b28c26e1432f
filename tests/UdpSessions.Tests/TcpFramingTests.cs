using UdpSessions.Engines.Tcp;

namespace UdpSessions.Tests;

/// <summary>The frame decoder alone: every split of the stream yields the same messages; bad lengths are refused.</summary>
public class TcpFramingTests
{
    [Fact]
    public void Whole_frames_in_one_read_are_slices_of_the_read()
    {
        var decoder = new FrameDecoder(TcpFraming.LengthPrefix32, 100);
        byte[] stream = [0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 1, 9];
        ReadOnlySpan<byte> input = stream;

        Assert.Equal(FrameResult.Frame, decoder.Next(ref input, out ReadOnlySpan<byte> first));
        Assert.Equal([1, 2, 3], first.ToArray());
        Assert.True(first.Overlaps(stream), "a frame that lies whole in the read must not be copied");
        Assert.Equal(FrameResult.Frame, decoder.Next(ref input, out ReadOnlySpan<byte> empty));
        Assert.Equal(0, empty.Length);
        Assert.Equal(FrameResult.Frame, decoder.Next(ref input, out ReadOnlySpan<byte> last));
        Assert.Equal([9], last.ToArray());
        Assert.Equal(FrameResult.NeedMore, decoder.Next(ref input, out _));
        Assert.False(decoder.HasPartialFrame);
    }

    [Theory]
    [InlineData(TcpFraming.LengthPrefix32)]
    [InlineData(TcpFraming.LengthPrefix16)]
    public void A_frame_fed_one_byte_at_a_time_comes_out_once_whole(TcpFraming framing)
    {
        var decoder = new FrameDecoder(framing, 1000);
        byte[] message = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        byte[] stream = Infrastructure.TcpTestClient.Frame(framing, message);
        var frames = new List<byte[]>();
        for (int i = 0; i < stream.Length; i++)
        {
            ReadOnlySpan<byte> input = stream.AsSpan(i, 1);
            while (decoder.Next(ref input, out ReadOnlySpan<byte> frame) == FrameResult.Frame)
            {
                frames.Add(frame.ToArray());
            }

            Assert.True(input.IsEmpty);
            Assert.Equal(i < stream.Length - 1, decoder.HasPartialFrame);
        }

        Assert.Equal(message, Assert.Single(frames));
    }

    [Theory]
    [InlineData(TcpFraming.LengthPrefix32, new byte[] { 0, 0, 0, 101 })]
    [InlineData(TcpFraming.LengthPrefix32, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF })]
    [InlineData(TcpFraming.LengthPrefix16, new byte[] { 0, 101 })]
    public void A_length_over_the_maximum_is_refused_before_any_body_is_read(TcpFraming framing, byte[] header)
    {
        var decoder = new FrameDecoder(framing, 100);
        ReadOnlySpan<byte> input = header;
        Assert.Equal(FrameResult.TooLarge, decoder.Next(ref input, out _));
        Assert.Equal(framing == TcpFraming.LengthPrefix32 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header) : 101, decoder.RejectedLength);
    }

    [Fact]
    public void A_frame_of_exactly_the_maximum_is_accepted()
    {
        var decoder = new FrameDecoder(TcpFraming.LengthPrefix16, 5);
        ReadOnlySpan<byte> input = Infrastructure.TcpTestClient.Frame(TcpFraming.LengthPrefix16, [1, 2, 3, 4, 5]);
        Assert.Equal(FrameResult.Frame, decoder.Next(ref input, out ReadOnlySpan<byte> frame));
        Assert.Equal(5, frame.Length);
    }

    [Fact]
    public void Raw_mode_delivers_each_read_as_it_is()
    {
        var decoder = new FrameDecoder(TcpFraming.Raw, 100);
        ReadOnlySpan<byte> input = new byte[] { 0, 0, 0, 200, 7 };
        Assert.Equal(FrameResult.Frame, decoder.Next(ref input, out ReadOnlySpan<byte> frame));
        Assert.Equal([0, 0, 0, 200, 7], frame.ToArray());
        Assert.Equal(FrameResult.NeedMore, decoder.Next(ref input, out _));
    }

    /// <summary>
    /// Random messages (empty ones included), concatenated, cut at random points: the decoder must give back exactly the
    /// messages, in order; a frame announcing more than the maximum must stop it with TooLarge at exactly that frame.
    /// </summary>
    [Theory]
    [InlineData(TcpFraming.LengthPrefix32, 1)]
    [InlineData(TcpFraming.LengthPrefix32, 2)]
    [InlineData(TcpFraming.LengthPrefix16, 3)]
    [InlineData(TcpFraming.LengthPrefix16, 4)]
    public void Random_frames_cut_at_random_points_decode_to_the_same_messages(TcpFraming framing, int seed)
    {
        const int MaxFrame = 3000;
        var random = new Random(seed);
        for (int round = 0; round < 200; round++)
        {
            var messages = new List<byte[]>();
            var stream = new List<byte>();
            int count = random.Next(1, 40);
            for (int i = 0; i < count; i++)
            {
                byte[] message = new byte[random.Next(4) == 0 ? 0 : random.Next(1, MaxFrame + 1)];
                random.NextBytes(message);
                messages.Add(message);
                stream.AddRange(Infrastructure.TcpTestClient.Frame(framing, message));
            }

            // A third of the rounds end with an oversized frame (its header only, and some bytes after it).
            bool oversized = round % 3 == 0;
            if (oversized)
            {
                int tooLong = MaxFrame + 1 + random.Next(50);
                byte[] header = framing == TcpFraming.LengthPrefix32 ? new byte[4] : new byte[2];
                if (header.Length == 4)
                {
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header, (uint)tooLong);
                }
                else
                {
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(header, (ushort)tooLong);
                }

                stream.AddRange(header);
                stream.AddRange(new byte[random.Next(10)]);
            }

            byte[] bytes = [.. stream];
            var decoder = new FrameDecoder(framing, MaxFrame);
            var decoded = new List<byte[]>();
            bool refused = false;
            int offset = 0;
            while (offset < bytes.Length && !refused)
            {
                int cut = Math.Min(bytes.Length - offset, random.Next(1, 2 * MaxFrame));
                ReadOnlySpan<byte> input = bytes.AsSpan(offset, cut);
                offset += cut;
                while (true)
                {
                    FrameResult result = decoder.Next(ref input, out ReadOnlySpan<byte> frame);
                    if (result == FrameResult.Frame)
                    {
                        decoded.Add(frame.ToArray());
                        continue;
                    }

                    refused = result == FrameResult.TooLarge;
                    break;
                }
            }

            decoder.Dispose();
            Assert.Equal(oversized, refused);
            Assert.Equal(messages.Count, decoded.Count);
            for (int i = 0; i < messages.Count; i++)
            {
                Assert.True(messages[i].AsSpan().SequenceEqual(decoded[i]), $"seed {seed} round {round}: message {i} differs");
            }
        }
    }
}
