using System.Runtime.InteropServices;

namespace UdpSessions.Interop.Linux;

/// <summary>
/// OpenSSL called directly by the DTLS layer where the platform's wrappers cost more than the work: ephemeral ECDH on
/// EC_KEY (which skips OpenSSL 3's provider look-ups and the full public-key checks, a scalar multiplication each, that
/// <c>ECDiffieHellman</c> makes on every import and derive) and AES-GCM/CCM on a cipher context kept per direction
/// (<c>AesGcm</c> spends about 1.5 µs more per 1,000-byte record). The library is the one
/// System.Security.Cryptography loads on Linux. Every pointer is owned by a <see cref="SafeEcKeyHandle"/> or freed
/// before the call returns; errors are cleared so they cannot leak into the platform's next OpenSSL call.
/// </summary>
internal static unsafe partial class LibCrypto
{
    public const int NidP256 = 415; // NID_X9_62_prime256v1
    public const int NidP384 = 715; // NID_secp384r1
    private const string Library = "libcrypto.so.3";
    private const int Uncompressed = 4; // POINT_CONVERSION_UNCOMPRESSED

    [LibraryImport(Library, EntryPoint = "EC_KEY_new_by_curve_name")]
    public static partial SafeEcKeyHandle EcKeyNewByCurveName(int nid);

    [LibraryImport(Library, EntryPoint = "EC_KEY_free")]
    public static partial void EcKeyFree(nint key);

    [LibraryImport(Library, EntryPoint = "EC_KEY_generate_key")]
    public static partial int EcKeyGenerateKey(SafeEcKeyHandle key);

    [LibraryImport(Library, EntryPoint = "EC_KEY_get0_group")]
    public static partial nint EcKeyGet0Group(SafeEcKeyHandle key);

    [LibraryImport(Library, EntryPoint = "EC_KEY_get0_public_key")]
    public static partial nint EcKeyGet0PublicKey(SafeEcKeyHandle key);

    [LibraryImport(Library, EntryPoint = "EC_POINT_new")]
    public static partial nint EcPointNew(nint group);

    [LibraryImport(Library, EntryPoint = "EC_POINT_free")]
    public static partial void EcPointFree(nint point);

    [LibraryImport(Library, EntryPoint = "EC_POINT_point2oct")]
    public static partial nuint EcPointPoint2Oct(nint group, nint point, int form, byte* buffer, nuint length, nint context);

    [LibraryImport(Library, EntryPoint = "EC_POINT_oct2point")]
    public static partial int EcPointOct2Point(nint group, nint point, byte* buffer, nuint length, nint context);

    [LibraryImport(Library, EntryPoint = "ECDH_compute_key")]
    public static partial int EcdhComputeKey(byte* output, nuint length, nint peerPoint, SafeEcKeyHandle key, nint kdf);

    [LibraryImport(Library, EntryPoint = "ERR_clear_error")]
    public static partial void ErrClearError();

    // AEAD for the record layer: a cipher context kept per connection and direction, re-initialised with the nonce only.
    public const int CtrlSetIvLength = 0x9;   // EVP_CTRL_AEAD_SET_IVLEN
    public const int CtrlGetTag = 0x10;       // EVP_CTRL_AEAD_GET_TAG
    public const int CtrlSetTag = 0x11;       // EVP_CTRL_AEAD_SET_TAG

    [LibraryImport(Library, EntryPoint = "EVP_aes_128_gcm")]
    public static partial nint EvpAes128Gcm();

    [LibraryImport(Library, EntryPoint = "EVP_aes_256_gcm")]
    public static partial nint EvpAes256Gcm();

    [LibraryImport(Library, EntryPoint = "EVP_aes_128_ccm")]
    public static partial nint EvpAes128Ccm();

    [LibraryImport(Library, EntryPoint = "EVP_CIPHER_CTX_new")]
    public static partial SafeEvpCipherContextHandle EvpCipherContextNew();

    [LibraryImport(Library, EntryPoint = "EVP_CIPHER_CTX_free")]
    public static partial void EvpCipherContextFree(nint context);

    [LibraryImport(Library, EntryPoint = "EVP_CIPHER_CTX_ctrl")]
    public static partial int EvpCipherContextControl(SafeEvpCipherContextHandle context, int type, int argument, byte* pointer);

    [LibraryImport(Library, EntryPoint = "EVP_EncryptInit_ex")]
    public static partial int EvpEncryptInit(SafeEvpCipherContextHandle context, nint cipher, nint engine, byte* key, byte* iv);

    [LibraryImport(Library, EntryPoint = "EVP_DecryptInit_ex")]
    public static partial int EvpDecryptInit(SafeEvpCipherContextHandle context, nint cipher, nint engine, byte* key, byte* iv);

    [LibraryImport(Library, EntryPoint = "EVP_EncryptUpdate")]
    public static partial int EvpEncryptUpdate(SafeEvpCipherContextHandle context, byte* output, int* outputLength, byte* input, int inputLength);

    [LibraryImport(Library, EntryPoint = "EVP_DecryptUpdate")]
    public static partial int EvpDecryptUpdate(SafeEvpCipherContextHandle context, byte* output, int* outputLength, byte* input, int inputLength);

    [LibraryImport(Library, EntryPoint = "EVP_EncryptFinal_ex")]
    public static partial int EvpEncryptFinal(SafeEvpCipherContextHandle context, byte* output, int* outputLength);

    [LibraryImport(Library, EntryPoint = "EVP_DecryptFinal_ex")]
    public static partial int EvpDecryptFinal(SafeEvpCipherContextHandle context, byte* output, int* outputLength);

    /// <summary>Writes the key's public point uncompressed (0x04 | X | Y); returns the length, 0 on failure.</summary>
    public static int WritePublicPoint(SafeEcKeyHandle key, Span<byte> destination)
    {
        fixed (byte* buffer = destination)
        {
            return (int)EcPointPoint2Oct(EcKeyGet0Group(key), EcKeyGet0PublicKey(key), Uncompressed, buffer, (nuint)destination.Length, 0);
        }
    }

    /// <summary>
    /// ECDH with the peer's encoded point into <paramref name="secret"/>; false when the point is malformed or not on
    /// the curve (EC_POINT_oct2point checks; the curves here have cofactor 1, so no small-subgroup check is needed).
    /// </summary>
    public static bool ComputeSharedSecret(SafeEcKeyHandle key, ReadOnlySpan<byte> peerPoint, Span<byte> secret)
    {
        nint group = EcKeyGet0Group(key);
        nint point = EcPointNew(group);
        if (point == 0)
        {
            ErrClearError();
            return false;
        }

        try
        {
            fixed (byte* encoded = peerPoint)
            fixed (byte* output = secret)
            {
                if (EcPointOct2Point(group, point, encoded, (nuint)peerPoint.Length, 0) == 1
                    && EcdhComputeKey(output, (nuint)secret.Length, point, key, 0) == secret.Length)
                {
                    return true;
                }
            }

            ErrClearError();
            return false;
        }
        finally
        {
            EcPointFree(point);
        }
    }
}

/// <summary>Owns an OpenSSL EC_KEY.</summary>
internal sealed class SafeEcKeyHandle : SafeHandle
{
    public SafeEcKeyHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        LibCrypto.EcKeyFree(handle);
        return true;
    }
}

/// <summary>Owns an OpenSSL EVP_CIPHER_CTX.</summary>
internal sealed class SafeEvpCipherContextHandle : SafeHandle
{
    public SafeEvpCipherContextHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        LibCrypto.EvpCipherContextFree(handle);
        return true;
    }
}
