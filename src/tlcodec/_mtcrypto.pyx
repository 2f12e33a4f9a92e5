# cython: language_level=3, boundscheck=False, wraparound=False, freethreading_compatible=False
"""Compiled MTProto 2.0 message cipher: the three SHA-256 and the AES-256-IGE of one message in
one C call, with OpenSSL's libcrypto doing the SHA-256 and the AES; also AES-256-IGE on its own
(`aes_ige`) and the pq factorization (`pollard_brent`) for the auth-key exchange.

`tlcodec.crypto.MessageCipher` is this class when it loads, else the Python one beside it
(`PythonMessageCipher`: hashlib + AES-ECB chained in Python); likewise `python_aes_ige` and
`python_pollard_brent`. Each pair gives the same bytes (tests/test_mtcrypto.py).
The formulas are PROTOCOL.md 3.4 (core.telegram.org/mtproto/description).

Why: through Python each message costs three `hashlib.sha256(...).digest()` (OpenSSL 3 looks
the algorithm up for every hash object) and one AES-IGE call; here it is one C call, several
times faster (benchmarks/test_bench_session.py), and a whole payload is built in one `bytes`
object.

Where the primitives come from: the libcrypto CPython itself runs on (the one its `_hashlib`
module links to), found with dlopen/dlsym at import, so no OpenSSL headers or import library are
needed at build time and no second copy of OpenSSL is loaded. The prototypes below are those of
OpenSSL 1.1 and 3.x (unchanged between them):
- SHA-256: `SHA256_Init/Update/Final`, OpenSSL's low-level API (deprecated in 3.0, still
  exported; the one-shot `SHA256()` of 3.x fetches the algorithm on every call).
- AES: AES-256-ECB through EVP (`EVP_Cipher`, one 16-byte block per call), the IGE chaining is
  done here. EVP's AES uses AES-NI, or vpaes (constant time, SSSE3) on CPUs without it (its
  table-based AES only on x86 CPUs with neither). Not
  `AES_ige_encrypt`: its `AES_encrypt` is OpenSSL's table-based AES (no AES-NI; cache-timing
  leaks) and several times slower.
- `CRYPTO_memcmp` for the constant-time msg_key comparison, `OPENSSL_cleanse` to wipe the
  per-message key and iv.
If a symbol is missing, or the known-answer self-test run at import fails (SHA-256 of "abc",
FIPS-197's AES-256 block), `LOAD_ERROR` says why and `MessageCipher()` raises RuntimeError.
TLCODEC_LIBCRYPTO=<path or soname> replaces the search with that one library.

Padding randomness comes from a pool per cipher object: one `random_bytes(pool_size)` call
(os.urandom by default, injectable for tests) serves many messages, as `os.urandom` is a system
call, which costs more than the rest of a small message's encryption.

The GIL is held for the whole call (messages are small; each cipher object owns its two EVP
contexts and its pool, which must not be used by two threads at once).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy

import hashlib
import os
import sys

cdef extern from *:
    """
    #include <stddef.h>
    #if defined(_WIN32)
    static void *tl_dlopen(const char *path) { (void)path; return NULL; }
    static void *tl_dlsym(void *handle, const char *name) { (void)handle; (void)name; return NULL; }
    static const char *tl_dlerror(void) { return "no dlopen on Windows"; }
    static const char *tl_library_of(void *address) { (void)address; return NULL; }
    #else
    #include <dlfcn.h>
    static void *tl_dlopen(const char *path) { return dlopen(path, RTLD_NOW | RTLD_LOCAL); }
    static void *tl_dlsym(void *handle, const char *name) { return dlsym(handle, name); }
    static const char *tl_dlerror(void) {
        const char *error = dlerror();
        return error ? error : "unknown dlopen error";
    }
    /* The file a symbol was found in (dladdr: glibc, musl, macOS, BSDs), or NULL. */
    static const char *tl_library_of(void *address) {
        Dl_info info;
        return dladdr(address, &info) && info.dli_fname ? info.dli_fname : NULL;
    }
    #endif
    /* OpenSSL's SHA256_CTX is 112 bytes from 1.0 to 3.x; room to spare, aligned for its words. */
    typedef union { unsigned char bytes[256]; unsigned long long align; } tl_sha256_ctx;
    """
    void *tl_dlopen(const char *path)
    void *tl_dlsym(void *handle, const char *name)
    const char *tl_dlerror()
    const char *tl_library_of(void *address)
    ctypedef struct tl_sha256_ctx:
        pass

# The libcrypto prototypes (OpenSSL 1.1 and 3.x), as function pointer types.
ctypedef int (*Sha256InitFn)(tl_sha256_ctx *ctx) noexcept nogil
ctypedef int (*Sha256UpdateFn)(tl_sha256_ctx *ctx, const void *data, size_t size) noexcept nogil
ctypedef int (*Sha256FinalFn)(unsigned char *digest, tl_sha256_ctx *ctx) noexcept nogil
ctypedef void *(*CipherCtxNewFn)() noexcept nogil
ctypedef void (*CipherCtxFreeFn)(void *ctx) noexcept nogil
ctypedef const void *(*CipherGetFn)() noexcept nogil
ctypedef void *(*CipherFetchFn)(void *libctx, const char *algorithm,
                                const char *properties) noexcept nogil
ctypedef int (*CipherInitFn)(void *ctx, const void *cipher, void *engine,
                             const unsigned char *key, const unsigned char *iv) noexcept nogil
ctypedef int (*CipherFn)(void *ctx, unsigned char *out, const unsigned char *data,
                         unsigned int size) noexcept nogil
ctypedef int (*MemcmpFn)(const void *a, const void *b, size_t size) noexcept nogil
ctypedef void (*CleanseFn)(void *data, size_t size) noexcept nogil

cdef Sha256InitFn sha256_init = NULL
cdef Sha256UpdateFn sha256_update = NULL
cdef Sha256FinalFn sha256_final = NULL
cdef CipherCtxNewFn cipher_ctx_new = NULL
cdef CipherCtxFreeFn cipher_ctx_free = NULL
cdef CipherInitFn encrypt_init = NULL
cdef CipherInitFn decrypt_init = NULL
cdef CipherFn cipher_blocks = NULL
cdef MemcmpFn constant_time_memcmp = NULL
cdef CleanseFn cleanse = NULL
cdef const void *aes_256_ecb = NULL

cdef enum:
    MIN_PADDING = 12  # bytes of padding at least (PROTOCOL.md 3.4)
    POOL_BYTES = 2048  # random bytes fetched at once for padding (one call, many messages)
PADDING_POOL_BYTES = POOL_BYTES

LIBRARY = None
"""The libcrypto in use (its file, else what was opened to reach it), or None."""
LOAD_ERROR = None
"""None when the compiled cipher works; else why not (the Python cipher is used instead)."""

# ----------------------------------------------------------------------------------------------
# Loading libcrypto


def _candidate_libraries():
    """Where to look, best first: the libcrypto CPython already loaded for `_hashlib` (a dlopen
    handle of `_hashlib` resolves symbols in its dependencies too), then the usual sonames.
    Never an unversioned name on macOS, where loading /usr/lib/libcrypto.dylib aborts. A
    generator: ctypes is imported only if everything before it failed. TLCODEC_LIBCRYPTO
    names the one library to use instead (a path or a soname)."""
    chosen = os.environ.get("TLCODEC_LIBCRYPTO")
    if chosen:
        yield chosen
        return
    try:
        import _hashlib
        yield _hashlib.__file__
    except (ImportError, AttributeError):  # built in, or a CPython without OpenSSL
        pass
    if sys.platform == "darwin":
        yield from ("libcrypto.3.dylib", "libcrypto.1.1.dylib")
    elif sys.platform != "win32":
        yield from ("libcrypto.so.3", "libcrypto.so.1.1")
        try:
            import ctypes.util
            found = ctypes.util.find_library("crypto")
        except (ImportError, OSError):  # pragma: no cover - a Python without ctypes
            found = None
        if found:
            yield found


cdef void *_symbol(void *handle, const char *name, list missing):
    cdef void *address = tl_dlsym(handle, name)
    if address == NULL:
        missing.append(name.decode())
    return address


cdef str _bind(void *handle):
    """Resolve every symbol from `handle`; an error message, or None when all are there."""
    global sha256_init, sha256_update, sha256_final, cipher_ctx_new, cipher_ctx_free
    global encrypt_init, decrypt_init, cipher_blocks, constant_time_memcmp
    global cleanse, aes_256_ecb
    cdef list missing = []
    sha256_init = <Sha256InitFn>_symbol(handle, b"SHA256_Init", missing)
    sha256_update = <Sha256UpdateFn>_symbol(handle, b"SHA256_Update", missing)
    sha256_final = <Sha256FinalFn>_symbol(handle, b"SHA256_Final", missing)
    cipher_ctx_new = <CipherCtxNewFn>_symbol(handle, b"EVP_CIPHER_CTX_new", missing)
    cipher_ctx_free = <CipherCtxFreeFn>_symbol(handle, b"EVP_CIPHER_CTX_free", missing)
    encrypt_init = <CipherInitFn>_symbol(handle, b"EVP_EncryptInit_ex", missing)
    decrypt_init = <CipherInitFn>_symbol(handle, b"EVP_DecryptInit_ex", missing)
    cipher_blocks = <CipherFn>_symbol(handle, b"EVP_Cipher", missing)
    constant_time_memcmp = <MemcmpFn>_symbol(handle, b"CRYPTO_memcmp", missing)
    cleanse = <CleanseFn>_symbol(handle, b"OPENSSL_cleanse", missing)
    cdef CipherGetFn legacy_aes_256_ecb = <CipherGetFn>_symbol(handle, b"EVP_aes_256_ecb", missing)
    if missing:
        return "libcrypto lacks " + ", ".join(missing)
    # OpenSSL 3: an explicitly fetched cipher, so that re-keying a context never fetches again.
    cdef CipherFetchFn fetch = <CipherFetchFn>tl_dlsym(handle, b"EVP_CIPHER_fetch")
    aes_256_ecb = fetch(NULL, b"AES-256-ECB", NULL) if fetch != NULL else NULL
    if aes_256_ecb == NULL:
        aes_256_ecb = legacy_aes_256_ecb()
    if aes_256_ecb == NULL:
        return "libcrypto has no AES-256-ECB"
    return None


# Known answers: SHA-256("abc") (FIPS 180-2 B.1) and AES-256 (FIPS-197 C.3).
_SHA256_ABC = bytes.fromhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
_AES_KEY = bytes(range(32))
_AES_PLAIN = bytes.fromhex("00112233445566778899aabbccddeeff")
_AES_CIPHER = bytes.fromhex("8ea2b7ca516745bfeafc49904b496089")


cdef str _self_test():
    """Check that the bound functions compute what they should (a wrong library or ABI would
    give other bytes, not a crash we could catch)."""
    cdef tl_sha256_ctx ctx
    cdef unsigned char digest[32]
    cdef unsigned char block[16]
    # Local references: a pointer into a module global would dangle if the global were rebound.
    cdef bytes key_bytes = _AES_KEY
    cdef bytes plain_bytes = _AES_PLAIN
    cdef const unsigned char *key = key_bytes
    cdef const unsigned char *plain = plain_bytes
    cdef void *encryptor
    cdef void *decryptor
    if not (sha256_init(&ctx) and sha256_update(&ctx, <const char *>b"abc", 3) and sha256_final(digest, &ctx)):
        return "SHA256_Init/Update/Final failed"
    if (<char *>digest)[:32] != _SHA256_ABC:
        return "SHA-256 self-test gave a wrong digest"
    encryptor = _new_context(True)
    decryptor = _new_context(False)
    try:
        if encryptor == NULL or decryptor == NULL:
            return "cannot make an EVP AES-256-ECB context"
        if (encrypt_init(encryptor, NULL, NULL, key, NULL) != 1
                or cipher_blocks(encryptor, block, plain, 16) <= 0):
            return "EVP AES-256-ECB encryption failed"
        if (<char *>block)[:16] != _AES_CIPHER:
            return "AES-256 self-test gave a wrong ciphertext"
        if (decrypt_init(decryptor, NULL, NULL, key, NULL) != 1
                or cipher_blocks(decryptor, block, block, 16) <= 0):
            return "EVP AES-256-ECB decryption failed"
        if (<char *>block)[:16] != _AES_PLAIN:
            return "AES-256 self-test did not decrypt back"
        if constant_time_memcmp(block, plain, 16) != 0 or constant_time_memcmp(block, key, 16) == 0:
            return "CRYPTO_memcmp self-test failed"
    finally:
        cipher_ctx_free(encryptor)  # NULL is a no-op
        cipher_ctx_free(decryptor)
    return None


def _load():
    global LIBRARY, LOAD_ERROR
    cdef void *handle
    errors = []
    for candidate in _candidate_libraries():
        handle = tl_dlopen(os.fsencode(candidate))
        if handle == NULL:
            errors.append(f"{candidate}: {tl_dlerror().decode(errors='replace')}")
            continue
        error = _bind(handle)
        if error is None:
            error = _self_test()
        if error is None:
            found_in = tl_library_of(<void *>sha256_init)
            LIBRARY = os.fsdecode(<bytes>found_in) if found_in != NULL else candidate
            LOAD_ERROR = None
            return
        errors.append(f"{candidate}: {error}")
        # The handle stays open: dlclose of a library CPython also uses gains nothing.
    _unbind()  # nothing half-bound from a candidate that failed
    LOAD_ERROR = "no usable libcrypto (" + "; ".join(errors or ["no candidate found"]) + ")"


cdef void _unbind() noexcept:
    global sha256_init, sha256_update, sha256_final, cipher_ctx_new, cipher_ctx_free
    global encrypt_init, decrypt_init, cipher_blocks, constant_time_memcmp
    global cleanse, aes_256_ecb
    sha256_init = NULL
    sha256_update = NULL
    sha256_final = NULL
    cipher_ctx_new = NULL
    cipher_ctx_free = NULL
    encrypt_init = NULL
    decrypt_init = NULL
    cipher_blocks = NULL
    constant_time_memcmp = NULL
    cleanse = NULL
    aes_256_ecb = NULL


# ----------------------------------------------------------------------------------------------
# The primitives


cdef void *_new_context(bint for_encryption) noexcept:
    """An EVP context set up for AES-256-ECB; keys are set per message. (`EVP_Cipher` never
    pads, so no EVP_CIPHER_CTX_set_padding: with it, OpenSSL 3.0 re-applies the setting at
    every re-key, a third of the re-key's cost.)"""
    cdef void *ctx = cipher_ctx_new()
    if ctx == NULL:
        return NULL
    cdef CipherInitFn init = encrypt_init if for_encryption else decrypt_init
    if init(ctx, aes_256_ecb, NULL, NULL, NULL) != 1:
        cipher_ctx_free(ctx)
        return NULL
    return ctx


cdef inline void _xor16(uint8_t *out, const uint8_t *a, const uint8_t *b) noexcept nogil:
    cdef uint64_t a0, a1, b0, b1
    memcpy(&a0, a, 8)
    memcpy(&a1, a + 8, 8)
    memcpy(&b0, b, 8)
    memcpy(&b1, b + 8, 8)
    a0 ^= b0
    a1 ^= b1
    memcpy(out, &a0, 8)
    memcpy(out + 8, &a1, 8)


cdef int _ige(void *ctx, bint encrypting, const uint8_t *iv, const uint8_t *source,
              uint8_t *target, Py_ssize_t size) noexcept nogil:
    """AES-IGE over `size` bytes (a multiple of 16) with a context already keyed for the
    direction; `target` may be `source`. iv[:16] is c_0, iv[16:] is p_0. 0 on success.

    Both directions are one chain: out_i = AES(in_i ^ before) ^ after, then before = out_i and
    after = in_i, where encrypting starts with (before, after) = (c_0, p_0) and decrypting with
    (p_0, c_0): c_i = E(p_i ^ c_(i-1)) ^ p_(i-1) and p_i = D(c_i ^ p_(i-1)) ^ c_(i-1)."""
    cdef uint8_t before[16]
    cdef uint8_t after[16]
    cdef uint8_t block[16]
    cdef uint8_t current[16]
    cdef Py_ssize_t offset
    memcpy(before, iv if encrypting else iv + 16, 16)
    memcpy(after, iv + 16 if encrypting else iv, 16)
    for offset in range(0, size, 16):
        memcpy(current, source + offset, 16)  # before `target` may overwrite it
        _xor16(block, current, before)
        if cipher_blocks(ctx, target + offset, block, 16) <= 0:
            return -1
        _xor16(target + offset, target + offset, after)
        memcpy(before, target + offset, 16)
        memcpy(after, current, 16)
    return 0


cdef struct KeyMaterial:
    # One message's secrets, wiped together after use.
    uint8_t a[32]  # SHA256(msg_key + a_part)
    uint8_t b[32]  # SHA256(b_part + msg_key)
    uint8_t key_iv[64]  # aes_key (32), then aes_iv (32)


cdef class MessageCipher:
    """One auth_key's message envelope in one direction (`from_client`: the direction the
    messages it encrypts or decrypts travel). Same API and bytes as
    `tlcodec.crypto.PythonMessageCipher`; see that class for the contract."""

    cdef uint8_t msg_key_part[32]  # auth_key[88+x : 120+x]
    cdef uint8_t a_part[36]  # auth_key[x : x+36]
    cdef uint8_t b_part[36]  # auth_key[40+x : 76+x]
    cdef void *encryptor
    cdef void *decryptor
    cdef readonly bytes auth_key_id  # the 8 bytes that start every payload of this key
    cdef object random_bytes
    cdef Py_ssize_t pool_size
    cdef bytes pool  # padding randomness, fetched pool_size bytes at a time
    cdef Py_ssize_t pool_position

    def __cinit__(self, *args, **kwargs):
        self.encryptor = NULL
        self.decryptor = NULL

    def __init__(self, auth_key, from_client, random_bytes=os.urandom,
                 Py_ssize_t pool_size=POOL_BYTES):
        if LOAD_ERROR is not None:
            raise RuntimeError(f"the compiled message cipher is unavailable: {LOAD_ERROR}")
        cdef bytes key = bytes(auth_key)
        if len(key) != 256:
            raise ValueError(f"auth_key must be 256 bytes, got {len(key)}")
        cdef const uint8_t *data = key
        cdef int x = 0 if from_client else 8
        memcpy(self.msg_key_part, data + 88 + x, 32)
        memcpy(self.a_part, data + x, 36)
        memcpy(self.b_part, data + 40 + x, 36)
        self.auth_key_id = hashlib.sha1(key).digest()[12:20]
        self.random_bytes = random_bytes
        self.pool_size = pool_size
        self.pool = b""
        self.pool_position = 0
        if self.encryptor == NULL:
            self.encryptor = _new_context(True)
            self.decryptor = _new_context(False)
            if self.encryptor == NULL or self.decryptor == NULL:
                raise MemoryError("cannot make EVP AES-256-ECB contexts")

    def __dealloc__(self):
        if cleanse != NULL:  # the auth_key slices
            cleanse(self.msg_key_part, 32)
            cleanse(self.a_part, 36)
            cleanse(self.b_part, 36)
        if self.encryptor != NULL:
            cipher_ctx_free(self.encryptor)
        if self.decryptor != NULL:
            cipher_ctx_free(self.decryptor)

    # -- the envelope, on buffers ---------------------------------------------------------------

    cdef int _msg_key(self, const uint8_t *plaintext, Py_ssize_t size, uint8_t *msg_key) except -1:
        """msg_key = SHA256(msg_key_part + plaintext)[8:24]."""
        cdef tl_sha256_ctx ctx
        cdef uint8_t digest[32]
        if not (sha256_init(&ctx) and sha256_update(&ctx, self.msg_key_part, 32)
                and sha256_update(&ctx, plaintext, <size_t>size) and sha256_final(digest, &ctx)):
            raise RuntimeError("SHA-256 failed")
        memcpy(msg_key, digest + 8, 16)
        return 0

    cdef int _derive(self, const uint8_t *msg_key, KeyMaterial *secret) except -1:
        """aes_key = a[:8] + b[8:24] + a[24:32] and aes_iv = b[:8] + a[8:24] + b[24:32], with
        a = SHA256(msg_key + a_part) and b = SHA256(b_part + msg_key), into `secret.key_iv`."""
        cdef tl_sha256_ctx ctx
        cdef uint8_t *a = secret.a
        cdef uint8_t *b = secret.b
        cdef uint8_t *key_iv = secret.key_iv
        if not (sha256_init(&ctx) and sha256_update(&ctx, msg_key, 16)
                and sha256_update(&ctx, self.a_part, 36) and sha256_final(a, &ctx)
                and sha256_init(&ctx) and sha256_update(&ctx, self.b_part, 36)
                and sha256_update(&ctx, msg_key, 16) and sha256_final(b, &ctx)):
            cleanse(secret, sizeof(KeyMaterial))
            raise RuntimeError("SHA-256 failed")
        memcpy(key_iv, a, 8)
        memcpy(key_iv + 8, b + 8, 16)
        memcpy(key_iv + 24, a + 24, 8)
        memcpy(key_iv + 32, b, 8)
        memcpy(key_iv + 40, a + 8, 16)
        memcpy(key_iv + 56, b + 24, 8)
        return 0

    cdef int _crypt(self, bint encrypting, const uint8_t *msg_key, const uint8_t *source,
                    uint8_t *target, Py_ssize_t size) except -1:
        """AES-IGE of `size` bytes with the key and iv derived from `msg_key`."""
        cdef KeyMaterial secret
        cdef void *cipher = self.encryptor if encrypting else self.decryptor
        cdef CipherInitFn init = encrypt_init if encrypting else decrypt_init
        cdef int failed
        self._derive(msg_key, &secret)
        failed = init(cipher, NULL, NULL, secret.key_iv, NULL) != 1
        if not failed:
            failed = _ige(cipher, encrypting, secret.key_iv + 32, source, target, size)
        cleanse(&secret, sizeof(KeyMaterial))
        if failed:
            raise RuntimeError("AES-256 (EVP) failed")
        return 0

    # -- Python API -----------------------------------------------------------------------------

    def encrypt(self, plaintext):
        """`msg_key + AES-IGE(plaintext)` for a plaintext of a multiple of 16 bytes."""
        if type(plaintext) is not bytes:
            plaintext = bytes(plaintext)
        cdef Py_ssize_t size = PyBytes_GET_SIZE(plaintext)
        if size & 15:
            raise ValueError(f"the plaintext must be a multiple of 16 bytes, got {size}")
        cdef bytes out = PyBytes_FromStringAndSize(NULL, 16 + size)
        cdef uint8_t *target = <uint8_t *>PyBytes_AS_STRING(out)
        cdef const uint8_t *source = <const uint8_t *>PyBytes_AS_STRING(plaintext)
        self._msg_key(source, size, target)
        self._crypt(True, target, source, target + 16, size)
        return out

    def message_aes_key_iv(self, msg_key):
        """The AES-256-IGE key and iv of a message with this msg_key (for tests and tools)."""
        if type(msg_key) is not bytes:
            msg_key = bytes(msg_key)
        if PyBytes_GET_SIZE(msg_key) != 16:
            raise ValueError(f"msg_key must be 16 bytes, got {PyBytes_GET_SIZE(msg_key)}")
        cdef KeyMaterial secret
        self._derive(<const uint8_t *>PyBytes_AS_STRING(msg_key), &secret)
        key_iv = PyBytes_FromStringAndSize(<char *>secret.key_iv, 64)
        cleanse(&secret, sizeof(KeyMaterial))
        return key_iv[:32], key_iv[32:]

    def decrypt(self, msg_key, ciphertext):
        """The plaintext, or None when the msg_key recomputed from it differs (compared in
        constant time, after decrypting, as the security guidelines ask)."""
        if type(msg_key) is not bytes:
            msg_key = bytes(msg_key)
        if type(ciphertext) is not bytes:
            ciphertext = bytes(ciphertext)
        cdef Py_ssize_t size = PyBytes_GET_SIZE(ciphertext)
        if size & 15:
            raise ValueError(f"the ciphertext must be a multiple of 16 bytes, got {size}")
        if PyBytes_GET_SIZE(msg_key) != 16:
            return None  # cannot equal a 16-byte msg_key
        return self._open(<const uint8_t *>PyBytes_AS_STRING(msg_key),
                          <const uint8_t *>PyBytes_AS_STRING(ciphertext), size)

    cdef object _open(self, const uint8_t *msg_key, const uint8_t *ciphertext, Py_ssize_t size):
        cdef bytes plaintext = PyBytes_FromStringAndSize(NULL, size)
        cdef uint8_t *target = <uint8_t *>PyBytes_AS_STRING(plaintext)
        cdef uint8_t expected[16]
        self._crypt(False, msg_key, ciphertext, target, size)
        self._msg_key(target, size, expected)
        if constant_time_memcmp(expected, msg_key, 16) != 0:
            return None
        return plaintext

    def encrypt_message(self, int64_t salt, int64_t session_id, int64_t msg_id, int32_t seq_no,
                        body, Py_ssize_t padding_size=-1):
        """The whole payload of one message: `auth_key_id + msg_key + AES-IGE(plaintext)`, the
        plaintext being salt, session_id, msg_id, seq_no, len(body) (little-endian), `body`,
        then `padding_size` random bytes (default: the least, 12..27) from the padding pool
        (PROTOCOL.md 3.4). The plaintext's length must come out a multiple of 16."""
        if type(body) is not bytes:
            body = bytes(body)
        cdef Py_ssize_t body_size = PyBytes_GET_SIZE(body)
        if body_size > 0x7FFFFFFF:
            raise ValueError(f"a message body of {body_size} bytes is too long")
        if padding_size < 0:
            padding_size = MIN_PADDING + ((-(32 + body_size + MIN_PADDING)) & 15)
        cdef Py_ssize_t size = 32 + body_size + padding_size
        if size & 15:
            raise ValueError(f"header, body and padding make {size} bytes, not a multiple of 16")
        cdef const char *padding = self._take_padding(padding_size)
        cdef bytes out = PyBytes_FromStringAndSize(NULL, 24 + size)
        cdef uint8_t *payload = <uint8_t *>PyBytes_AS_STRING(out)
        cdef uint8_t *plaintext = payload + 24
        memcpy(payload, PyBytes_AS_STRING(self.auth_key_id), 8)
        _store_le(plaintext, <uint64_t>salt, 8)
        _store_le(plaintext + 8, <uint64_t>session_id, 8)
        _store_le(plaintext + 16, <uint64_t>msg_id, 8)
        _store_le(plaintext + 24, <uint64_t><uint32_t>seq_no, 4)
        _store_le(plaintext + 28, <uint64_t><uint32_t>body_size, 4)
        memcpy(plaintext + 32, PyBytes_AS_STRING(body), body_size)
        memcpy(plaintext + 32 + body_size, padding, padding_size)
        self._msg_key(plaintext, size, payload + 8)
        self._crypt(True, payload + 8, plaintext, plaintext, size)  # in place
        return out

    cdef const char *_take_padding(self, Py_ssize_t size) except NULL:
        """The next `size` bytes of the pool; a new pool (one `random_bytes` call) when it runs
        short, the rest of the old one dropped: exactly the calls the session made before the
        pool moved here, so seeded tests see the same bytes."""
        cdef Py_ssize_t start = self.pool_position
        if start + size > PyBytes_GET_SIZE(self.pool):
            wanted = max(self.pool_size, size)
            fresh = self.random_bytes(wanted)
            if type(fresh) is not bytes:
                fresh = bytes(fresh)
            if PyBytes_GET_SIZE(fresh) < size:
                raise ValueError(f"random_bytes({wanted}) returned {len(fresh)} bytes")
            self.pool = fresh
            start = 0
        self.pool_position = start + size
        return PyBytes_AS_STRING(self.pool) + start

    def decrypt_message(self, payload):
        """The plaintext of a whole payload (`auth_key_id + msg_key + ciphertext`; the
        auth_key_id is the caller's check), or None when the msg_key does not match."""
        if type(payload) is not bytes:
            payload = bytes(payload)
        cdef Py_ssize_t size = PyBytes_GET_SIZE(payload) - 24
        if size < 0 or size & 15:
            raise ValueError(f"a payload of {size + 24} bytes cannot be an encrypted message")
        cdef const uint8_t *data = <const uint8_t *>PyBytes_AS_STRING(payload)
        return self._open(data + 8, data + 24, size)



# -- AES-256-IGE on its own, for the auth-key exchange ------------------------------------------

def aes_ige(data, key, iv, bint encrypting):
    """AES-256-IGE of `data` (a multiple of 16 bytes) with a 32-byte key and a 32-byte iv
    (c_0 = iv[:16], p_0 = iv[16:]): the bytes of tlcodec.crypto.aes_ige_encrypt/decrypt."""
    if LOAD_ERROR is not None:
        raise RuntimeError(f"the compiled message cipher is unavailable: {LOAD_ERROR}")
    cdef bytes source = bytes(data)
    cdef bytes key_bytes = bytes(key)
    cdef bytes iv_bytes = bytes(iv)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(source)
    if PyBytes_GET_SIZE(key_bytes) != 32 or PyBytes_GET_SIZE(iv_bytes) != 32 or size & 15:
        raise ValueError("AES-256-IGE needs a 32-byte key, a 32-byte iv and whole blocks")
    cdef bytes result = PyBytes_FromStringAndSize(NULL, size)
    cdef void *ctx = _new_context(encrypting)
    if ctx == NULL:
        raise MemoryError("cannot make an EVP AES-256-ECB context")
    cdef CipherInitFn init = encrypt_init if encrypting else decrypt_init
    cdef int failed = (
        init(ctx, NULL, NULL, <const uint8_t *>PyBytes_AS_STRING(key_bytes), NULL) != 1
        or _ige(ctx, encrypting, <const uint8_t *>PyBytes_AS_STRING(iv_bytes),
                <const uint8_t *>PyBytes_AS_STRING(source),
                <uint8_t *>PyBytes_AS_STRING(result), size) != 0
    )
    cipher_ctx_free(ctx)
    if failed:
        raise RuntimeError("AES-256-IGE failed in libcrypto")
    return result


# -- pq factorization ----------------------------------------------------------------------------

cdef extern from *:
    """
    #include <stdint.h>
    /* a * b mod m without overflow: one 128-bit product where the compiler has it. */
    static uint64_t tl_mulmod(uint64_t a, uint64_t b, uint64_t m) {
    #ifdef __SIZEOF_INT128__
        return (uint64_t)(((unsigned __int128)a * b) % m);
    #else
        uint64_t result = 0;
        a %= m;
        while (b) {
            if (b & 1) result = result >= m - a ? result - (m - a) : result + a;
            a = a >= m - a ? a - (m - a) : a + a;
            b >>= 1;
        }
        return result;
    #endif
    }
    """
    uint64_t tl_mulmod(uint64_t a, uint64_t b, uint64_t m) noexcept nogil


cdef enum:
    _BATCH = 128  # steps whose differences are multiplied together before one gcd


cdef inline uint64_t _rho_step(uint64_t y, uint64_t seed, uint64_t n) noexcept nogil:
    """y^2 + seed mod n (seed < n), without overflow."""
    cdef uint64_t square = tl_mulmod(y, y, n)
    return square + seed if square < n - seed else square - (n - seed)


cdef inline uint64_t _gcd(uint64_t a, uint64_t b) noexcept nogil:
    cdef uint64_t rest
    while b:
        rest = a % b
        a = b
        b = rest
    return a


def pollard_brent(uint64_t n, uint64_t seed, uint64_t max_steps):
    """The compiled twin of tlcodec.crypto.python_pollard_brent (same steps, same answer)."""
    if n < 4 or not 0 < seed < n:
        raise ValueError("pollard_brent needs n >= 4 and 0 < seed < n")
    cdef uint64_t y = 2, x = 2, ys = 2, q = 1, g = 1, r = 1, k, i, batch, steps = 0
    with nogil:
        while g == 1:
            x = y
            for i in range(r):
                y = _rho_step(y, seed, n)
            steps += r
            k = 0
            while k < r and g == 1:
                ys = y
                batch = _BATCH if r - k > _BATCH else r - k
                for i in range(batch):
                    y = _rho_step(y, seed, n)
                    q = tl_mulmod(q, x - y if x > y else y - x, n)
                steps += batch
                g = _gcd(q, n)
                k += _BATCH
            r *= 2
            if g == 1 and steps > max_steps:
                break
        if g == n:  # the last batch overshot: walk it again one step at a time
            for i in range(_BATCH):
                ys = _rho_step(ys, seed, n)
                g = _gcd(x - ys if x > ys else ys - x, n)
                if g != 1:
                    break
    return g



cdef inline void _store_le(uint8_t *target, uint64_t value, int size) noexcept nogil:
    cdef int i
    for i in range(size):
        target[i] = <uint8_t>(value >> (8 * i))


_load()
