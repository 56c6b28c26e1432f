using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;

namespace UdpSessions.Dtls.Records;

/// <summary>
/// AES-128-CCM (RFC 3610, NIST SP 800-38C) with the 12-byte nonce of TLS (RFC 6655) on the processor's AES
/// instructions, for the CCM suites CoAP uses. <see cref="AesCcm"/> creates a new OpenSSL cipher context (and two
/// managed objects) for every record; this keeps the expanded key and allocates nothing, so the record path stays
/// allocation-free for CCM as it is for GCM. CBC-MAC over B0, the encoded additional data and the message, then CTR
/// from counter 1; the tag is the MAC encrypted with counter 0. Checked against <see cref="AesCcm"/> in the tests.
/// </summary>
internal sealed class AesCcm128
{
    private const int NonceLength = 12;
    private const int CounterLength = 15 - NonceLength; // L = 3
    private readonly Vector128<byte>[] _roundKeys = new Vector128<byte>[11];

    public AesCcm128(ReadOnlySpan<byte> key, int tagLength)
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException("AES-NI is not available.");
        }

        if (key.Length != 16 || tagLength is not (8 or 16))
        {
            throw new ArgumentException("AES-128-CCM with an 8- or 16-byte tag only.");
        }

        TagLength = tagLength;
        ExpandKey(Vector128.Create(key));
    }

    /// <summary>True where the AES and SSE2 instructions this needs exist (x86-64).</summary>
    public static bool IsSupported => System.Runtime.Intrinsics.X86.Aes.IsSupported && Sse2.IsSupported;

    public int TagLength { get; }

    public void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData)
    {
        Check(nonce, plaintext.Length, ciphertext.Length, tag.Length);
        Vector128<byte> mac = Mac(nonce, plaintext, associatedData);
        Vector128<byte> s0 = EncryptBlock(Counter(nonce, 0));
        Ctr(nonce, plaintext, ciphertext); // in place when they are the same memory: the MAC was taken first
        Span<byte> full = stackalloc byte[16];
        Sse2.Xor(mac, s0).CopyTo(full);
        full[..TagLength].CopyTo(tag);
    }

    /// <summary>Decrypts and authenticates; false (and <paramref name="plaintext"/> cleared) when the tag does not match.</summary>
    public bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        Check(nonce, ciphertext.Length, plaintext.Length, tag.Length);
        Ctr(nonce, ciphertext, plaintext);
        Vector128<byte> mac = Mac(nonce, plaintext[..ciphertext.Length], associatedData);
        Span<byte> expected = stackalloc byte[16];
        Sse2.Xor(mac, EncryptBlock(Counter(nonce, 0))).CopyTo(expected);
        if (CryptographicOperations.FixedTimeEquals(expected[..TagLength], tag))
        {
            return true;
        }

        plaintext[..ciphertext.Length].Clear();
        return false;
    }

    private void Check(ReadOnlySpan<byte> nonce, int inputLength, int outputLength, int tagLength)
    {
        if (nonce.Length != NonceLength || outputLength < inputLength || tagLength != TagLength || inputLength >= 1 << (8 * CounterLength))
        {
            throw new ArgumentException("Bad nonce, output or tag length for AES-CCM.");
        }
    }

    /// <summary>CBC-MAC over B0 (flags, nonce, message length), the length-prefixed additional data, then the message.</summary>
    private Vector128<byte> Mac(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> message, ReadOnlySpan<byte> associatedData)
    {
        Span<byte> block = stackalloc byte[16];
        block[0] = (byte)((associatedData.IsEmpty ? 0 : 0x40) | (((TagLength - 2) / 2) << 3) | (CounterLength - 1));
        nonce.CopyTo(block[1..]);
        block[13] = (byte)(message.Length >> 16);
        block[14] = (byte)(message.Length >> 8);
        block[15] = (byte)message.Length;
        Vector128<byte> mac = EncryptBlock(Vector128.Create((ReadOnlySpan<byte>)block));

        if (!associatedData.IsEmpty)
        {
            // The additional data, after its 2-byte length (it is always shorter than 2^16 - 2^8 here), in blocks.
            block.Clear();
            BinaryPrimitives.WriteUInt16BigEndian(block, (ushort)associatedData.Length);
            int first = Math.Min(14, associatedData.Length);
            associatedData[..first].CopyTo(block[2..]);
            mac = EncryptBlock(Sse2.Xor(mac, Vector128.Create((ReadOnlySpan<byte>)block)));
            mac = Absorb(mac, associatedData[first..]);
        }

        return Absorb(mac, message);
    }

    /// <summary>CBC-MAC of <paramref name="data"/> continuing from <paramref name="mac"/>, the last block zero-padded.</summary>
    private Vector128<byte> Absorb(Vector128<byte> mac, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 16)
        {
            mac = EncryptBlock(Sse2.Xor(mac, Vector128.Create(data)));
            data = data[16..];
        }

        if (!data.IsEmpty)
        {
            Span<byte> last = stackalloc byte[16];
            last.Clear();
            data.CopyTo(last);
            mac = EncryptBlock(Sse2.Xor(mac, Vector128.Create((ReadOnlySpan<byte>)last)));
        }

        return mac;
    }

    /// <summary>CTR mode from counter 1: <paramref name="output"/> = <paramref name="input"/> xor the key stream.</summary>
    private void Ctr(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> input, Span<byte> output)
    {
        Span<byte> stream = stackalloc byte[16];
        int counter = 1;
        int offset = 0;
        for (; offset + 16 <= input.Length; offset += 16, counter++)
        {
            Sse2.Xor(EncryptBlock(Counter(nonce, counter)), Vector128.Create(input.Slice(offset, 16))).CopyTo(output.Slice(offset, 16));
        }

        if (offset < input.Length)
        {
            EncryptBlock(Counter(nonce, counter)).CopyTo(stream);
            for (int i = offset; i < input.Length; i++)
            {
                output[i] = (byte)(input[i] ^ stream[i - offset]);
            }
        }
    }

    private static Vector128<byte> Counter(ReadOnlySpan<byte> nonce, int counter)
    {
        Span<byte> block = stackalloc byte[16];
        block[0] = CounterLength - 1;
        nonce.CopyTo(block[1..]);
        block[13] = (byte)(counter >> 16);
        block[14] = (byte)(counter >> 8);
        block[15] = (byte)counter;
        return Vector128.Create((ReadOnlySpan<byte>)block);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector128<byte> EncryptBlock(Vector128<byte> block)
    {
        Vector128<byte>[] k = _roundKeys;
        block = Sse2.Xor(block, k[0]);
        for (int round = 1; round < 10; round++)
        {
            block = System.Runtime.Intrinsics.X86.Aes.Encrypt(block, k[round]);
        }

        return System.Runtime.Intrinsics.X86.Aes.EncryptLast(block, k[10]);
    }

    /// <summary>The AES-128 key schedule (FIPS 197) with AESKEYGENASSIST; its round constant must be an immediate.</summary>
    private void ExpandKey(Vector128<byte> key)
    {
        Vector128<byte>[] k = _roundKeys;
        k[0] = key;
        k[1] = Next(k[0], System.Runtime.Intrinsics.X86.Aes.KeygenAssist(k[0], 0x01));
        k[2] = Next(k[1], System.Runtime.Intrinsics.X86.Aes.KeygenAssist(k[1], 0x02));
        k[3] = Next(k[2], System.Runtime.Intrinsics.X86.Aes.KeygenAssist(k[2], 0x04));
        k[4] = Next(k[3], System.Runtime.Intrinsics.X86.Aes.KeygenAssist(k[3], 0x08));
        k[5] = Next(k[4], System.Runtime.Intrinsics.X86.Aes.KeygenAssist(k[4], 0x10));
        k[6] = Next(k[5], System.Runtime.Intrinsics.X86.Aes.KeygenAssist(k[5], 0x20));
        k[7] = Next(k[6], System.Runtime.Intrinsics.X86.Aes.KeygenAssist(k[6], 0x40));
        k[8] = Next(k[7], System.Runtime.Intrinsics.X86.Aes.KeygenAssist(k[7], 0x80));
        k[9] = Next(k[8], System.Runtime.Intrinsics.X86.Aes.KeygenAssist(k[8], 0x1B));
        k[10] = Next(k[9], System.Runtime.Intrinsics.X86.Aes.KeygenAssist(k[9], 0x36));

        static Vector128<byte> Next(Vector128<byte> previous, Vector128<byte> assist)
        {
            Vector128<byte> word = Sse2.Shuffle(assist.AsInt32(), 0xFF).AsByte();
            previous = Sse2.Xor(previous, Sse2.ShiftLeftLogical128BitLane(previous, 4));
            previous = Sse2.Xor(previous, Sse2.ShiftLeftLogical128BitLane(previous, 4));
            previous = Sse2.Xor(previous, Sse2.ShiftLeftLogical128BitLane(previous, 4));
            return Sse2.Xor(previous, word);
        }
    }
}
