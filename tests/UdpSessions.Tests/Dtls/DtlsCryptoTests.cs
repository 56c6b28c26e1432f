using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using UdpSessions.Dtls.Crypto;
using UdpSessions.Dtls.Records;


namespace UdpSessions.Tests.Dtls;

/// <summary>The cryptography the DTLS layer does without the platform's classes, checked against them.</summary>
public class DtlsCryptoTests
{
    [Fact]
    public void AES_128_CCM_on_AES_instructions_matches_the_platforms_AesCcm()
    {
        Assert.SkipUnless(AesCcm128.IsSupported, "no AES instructions on this processor (the record layer then uses AesCcm)");
        var random = new Random(3610);
        foreach (int tagLength in new[] { 8, 16 })
        {
            for (int i = 0; i < 500; i++)
            {
                byte[] key = RandomNumberGenerator.GetBytes(16);
                byte[] nonce = RandomNumberGenerator.GetBytes(12);
                byte[] plaintext = RandomNumberGenerator.GetBytes(random.Next(0, 2_100));
                byte[] associated = RandomNumberGenerator.GetBytes(new[] { 0, 13, 14, 15, 31, 40 }[random.Next(6)]);
                using var platform = new AesCcm(key);
                byte[] expected = new byte[plaintext.Length], expectedTag = new byte[tagLength];
                platform.Encrypt(nonce, plaintext, expected, expectedTag, associated);

                var ccm = new AesCcm128(key, tagLength);
                byte[] actual = new byte[plaintext.Length], tag = new byte[tagLength];
                ccm.Encrypt(nonce, plaintext, actual, tag, associated);
                Assert.Equal(expected, actual);
                Assert.Equal(expectedTag, tag);

                byte[] decrypted = new byte[plaintext.Length];
                Assert.True(ccm.TryDecrypt(nonce, actual, tag, decrypted, associated));
                Assert.Equal(plaintext, decrypted);
                tag[random.Next(tagLength)] ^= 1;
                Assert.False(ccm.TryDecrypt(nonce, actual, tag, decrypted, associated));
            }
        }
    }

    [Fact]
    public void ECDH_on_OpenSSLs_EC_KEY_agrees_with_the_platform_and_refuses_points_off_the_curve()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the direct OpenSSL path is for Linux");
        Assert.True(NativeEcdh.IsSupported, "libcrypto.so.3 must be callable on Linux");
        var crypto = new PlatformTlsCrypto();
        for (int i = 0; i < 20; i++)
        {
            var native = new NativeEcdh(crypto, Interop.Linux.LibCrypto.NidP256, 32);
            byte[] nativePublic = native.GenerateEphemeral();
            using var platform = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
            ECParameters parameters = platform.ExportParameters(false);
            native.ReceivePeerValue([0x04, .. parameters.Q.X!, .. parameters.Q.Y!]);
            byte[] nativeSecret = native.CalculateSecret().Extract();

            using var peer = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = nativePublic[1..33], Y = nativePublic[33..] },
            });
            Assert.Equal(platform.DeriveRawSecretAgreement(peer.PublicKey), nativeSecret);
        }

        var victim = new NativeEcdh(crypto, Interop.Linux.LibCrypto.NidP256, 32);
        victim.GenerateEphemeral();
        byte[] offCurve = new byte[65];
        offCurve[0] = 4;
        offCurve[64] = 1; // (0, 1) is not on P-256
        victim.ReceivePeerValue(offCurve);
        Assert.Throws<TlsFatalAlert>(() => victim.CalculateSecret());
    }

    [Theory]
    [InlineData(false, 16, 16)]
    [InlineData(false, 32, 16)]
    [InlineData(true, 16, 8)]
    [InlineData(true, 16, 16)]
    public void OpenSSL_record_ciphers_match_the_platforms_and_reject_a_wrong_tag(bool ccmMode, int keyLength, int tagLength)
    {
        AeadKind kind = ccmMode ? AeadKind.Ccm : AeadKind.Gcm;
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the direct OpenSSL path is for Linux");
        Assert.True(EvpAead.IsSupported, "libcrypto.so.3 must be callable on Linux");
        var random = new Random(5288);
        byte[] key = RandomNumberGenerator.GetBytes(keyLength);
        using var sealer = new EvpAead(kind, key, tagLength, encrypt: true);
        using var opener = new EvpAead(kind, key, tagLength, encrypt: false);
        using var gcm = kind == AeadKind.Gcm ? new AesGcm(key, tagLength) : null;
        using var ccm = kind == AeadKind.Ccm ? new AesCcm(key) : null;
        for (int i = 0; i < 300; i++)
        {
            byte[] nonce = RandomNumberGenerator.GetBytes(12);
            byte[] plaintext = RandomNumberGenerator.GetBytes(i < 3 ? 0 : random.Next(0, 2_100)); // empty records too
            byte[] associated = RandomNumberGenerator.GetBytes(new[] { 13, 31 }[random.Next(2)]);
            byte[] expected = new byte[plaintext.Length], expectedTag = new byte[tagLength];
            if (gcm is not null)
            {
                gcm.Encrypt(nonce, plaintext, expected, expectedTag, associated);
            }
            else
            {
                ccm!.Encrypt(nonce, plaintext, expected, expectedTag, associated);
            }

            byte[] actual = new byte[plaintext.Length], tag = new byte[tagLength];
            sealer.Encrypt(nonce, plaintext, actual, tag, associated);
            Assert.Equal(expected, actual);
            Assert.Equal(expectedTag, tag);

            byte[] decrypted = new byte[plaintext.Length];
            Assert.True(opener.TryDecrypt(nonce, actual, tag, decrypted, associated));
            Assert.Equal(plaintext, decrypted);
            tag[random.Next(tagLength)] ^= 1;
            Assert.False(opener.TryDecrypt(nonce, actual, tag, decrypted, associated), $"a wrong tag passed ({plaintext.Length} bytes)");
            Assert.True(opener.TryDecrypt(nonce, expected, expectedTag, decrypted, associated));
        }
    }
}
