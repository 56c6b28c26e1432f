using UdpSessions.Interop.Linux;

namespace UdpSessions.Dtls.Records;

/// <summary>
/// AES-GCM or AES-128-CCM on one OpenSSL cipher context (Linux), keyed once and re-initialised with each record's
/// nonce: what OpenSSL's own TLS does, and about a third of what <see cref="System.Security.Cryptography.AesGcm"/>
/// costs per record. One direction per instance; not thread-safe (like any cipher context). Checked against the
/// platform's classes in the tests.
/// </summary>
internal sealed unsafe class EvpAead : IDisposable
{
    private static readonly Lazy<bool> s_supported = new(Probe);
    private readonly SafeEvpCipherContextHandle _context;
    private readonly bool _ccm;
    private readonly int _tagLength;

    public EvpAead(AeadKind kind, ReadOnlySpan<byte> key, int tagLength, bool encrypt)
    {
        _ccm = kind == AeadKind.Ccm;
        _tagLength = tagLength;
        nint cipher = _ccm ? LibCrypto.EvpAes128Ccm() : key.Length == 32 ? LibCrypto.EvpAes256Gcm() : LibCrypto.EvpAes128Gcm();
        _context = LibCrypto.EvpCipherContextNew();
        bool ready = !_context.IsInvalid && Init(cipher, null, null, encrypt)
            && LibCrypto.EvpCipherContextControl(_context, LibCrypto.CtrlSetIvLength, 12, null) == 1
            && (!_ccm || LibCrypto.EvpCipherContextControl(_context, LibCrypto.CtrlSetTag, tagLength, null) == 1);
        fixed (byte* k = key)
        {
            ready = ready && Init(0, k, null, encrypt);
        }

        if (!ready)
        {
            LibCrypto.ErrClearError();
            _context.Dispose();
            throw new InvalidOperationException("OpenSSL could not set up the record cipher.");
        }
    }

    /// <summary>True on Linux when libcrypto.so.3's EVP cipher functions can be called.</summary>
    public static bool IsSupported => s_supported.Value;

    public void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData)
    {
        int length;
        byte none = 0; // an empty message still needs real pointers, or OpenSSL takes the call for a length or AAD update
        fixed (byte* n = nonce)
        fixed (byte* pinnedInput = plaintext)
        fixed (byte* pinnedOutput = ciphertext)
        fixed (byte* aad = associatedData)
        fixed (byte* t = tag)
        {
            byte* input = pinnedInput == null ? &none : pinnedInput;
            byte* output = pinnedOutput == null ? &none : pinnedOutput;
            bool ok = LibCrypto.EvpEncryptInit(_context, 0, 0, null, n) == 1
                && (!_ccm || LibCrypto.EvpEncryptUpdate(_context, null, &length, null, plaintext.Length) == 1) // CCM: the length first
                && LibCrypto.EvpEncryptUpdate(_context, null, &length, aad, associatedData.Length) == 1
                && LibCrypto.EvpEncryptUpdate(_context, output, &length, input, plaintext.Length) == 1
                && LibCrypto.EvpEncryptFinal(_context, output + length, &length) == 1
                && LibCrypto.EvpCipherContextControl(_context, LibCrypto.CtrlGetTag, _tagLength, t) == 1;
            if (!ok)
            {
                LibCrypto.ErrClearError();
                throw new InvalidOperationException("OpenSSL failed to seal a record.");
            }
        }
    }

    /// <summary>Decrypts and authenticates; false when the tag does not match (or the input is unusable).</summary>
    public bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        int length;
        byte none = 0; // see Encrypt: an empty record must still go through the data update that checks its tag
        fixed (byte* n = nonce)
        fixed (byte* pinnedInput = ciphertext)
        fixed (byte* pinnedOutput = plaintext)
        fixed (byte* aad = associatedData)
        fixed (byte* t = tag)
        {
            byte* input = pinnedInput == null ? &none : pinnedInput;
            byte* output = pinnedOutput == null ? &none : pinnedOutput;
            bool ok = _ccm
                // CCM checks the tag in its (only) data update; the expected tag goes in before the nonce.
                ? LibCrypto.EvpCipherContextControl(_context, LibCrypto.CtrlSetTag, tag.Length, t) == 1
                    && LibCrypto.EvpDecryptInit(_context, 0, 0, null, n) == 1
                    && LibCrypto.EvpDecryptUpdate(_context, null, &length, null, ciphertext.Length) == 1
                    && LibCrypto.EvpDecryptUpdate(_context, null, &length, aad, associatedData.Length) == 1
                    && LibCrypto.EvpDecryptUpdate(_context, output, &length, input, ciphertext.Length) > 0
                : LibCrypto.EvpDecryptInit(_context, 0, 0, null, n) == 1
                    && LibCrypto.EvpDecryptUpdate(_context, null, &length, aad, associatedData.Length) == 1
                    && LibCrypto.EvpDecryptUpdate(_context, output, &length, input, ciphertext.Length) == 1
                    && LibCrypto.EvpCipherContextControl(_context, LibCrypto.CtrlSetTag, tag.Length, t) == 1
                    && LibCrypto.EvpDecryptFinal(_context, output + length, &length) > 0;
            if (!ok)
            {
                LibCrypto.ErrClearError();
            }

            return ok;
        }
    }

    public void Dispose() => _context.Dispose();

    private bool Init(nint cipher, byte* key, byte* iv, bool encrypt) => encrypt
        ? LibCrypto.EvpEncryptInit(_context, cipher, 0, key, iv) == 1
        : LibCrypto.EvpDecryptInit(_context, cipher, 0, key, iv) == 1;

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            using var probe = new EvpAead(AeadKind.Gcm, new byte[16], 16, encrypt: true);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return false;
        }
    }
}
