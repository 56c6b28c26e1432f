using System.Security.Cryptography;

namespace UdpSessions.Dtls.Records;

/// <summary>
/// The record cipher of one direction behind one shape: on Linux OpenSSL's AES-GCM/CCM on a context kept for the
/// connection (<see cref="EvpAead"/>); elsewhere <see cref="AesGcm"/>, and for CCM <see cref="AesCcm128"/> on the
/// processor's AES instructions, or <see cref="AesCcm"/> (which allocates per call) where those are missing. An
/// instance is not thread-safe (a cipher context is reused across calls): the record layer gives each direction its own.
/// </summary>
internal sealed class AeadCipher : IDisposable
{
    private readonly EvpAead? _evp;
    private readonly AesGcm? _gcm;
    private readonly AesCcm128? _ccmIntrinsics;
    private readonly AesCcm? _ccm;

    public AeadCipher(AeadKind kind, ReadOnlySpan<byte> key, int tagLength, bool encrypt)
    {
        TagLength = tagLength;
        if (EvpAead.IsSupported && (kind == AeadKind.Gcm || key.Length == 16))
        {
            _evp = new EvpAead(kind, key, tagLength, encrypt);
        }
        else if (kind == AeadKind.Gcm)
        {
            _gcm = new AesGcm(key, tagLength);
        }
        else if (AesCcm128.IsSupported && key.Length == 16)
        {
            _ccmIntrinsics = new AesCcm128(key, tagLength);
        }
        else
        {
            _ccm = new AesCcm(key);
        }
    }

    public int TagLength { get; }

    /// <summary>Encrypts; <paramref name="plaintext"/> and <paramref name="ciphertext"/> may be the same memory.</summary>
    public void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData)
    {
        if (_evp is not null)
        {
            _evp.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
        }
        else if (_gcm is not null)
        {
            _gcm.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
        }
        else if (_ccmIntrinsics is not null)
        {
            _ccmIntrinsics.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
        }
        else
        {
            _ccm!.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
        }
    }

    /// <summary>Decrypts and authenticates; false (nothing usable in <paramref name="plaintext"/>) when the tag does not match.</summary>
    public bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        if (_evp is not null)
        {
            return _evp.TryDecrypt(nonce, ciphertext, tag, plaintext, associatedData);
        }

        if (_ccmIntrinsics is not null)
        {
            return _ccmIntrinsics.TryDecrypt(nonce, ciphertext, tag, plaintext, associatedData);
        }

        try
        {
            if (_gcm is not null)
            {
                _gcm.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
            }
            else
            {
                _ccm!.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
            }

            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            // The platform reports a forged record only by throwing; such records are rare on a real session.
            return false;
        }
    }

    public void Dispose()
    {
        _evp?.Dispose();
        _gcm?.Dispose();
        _ccm?.Dispose();
    }
}
