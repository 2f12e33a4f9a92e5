"""Type information for the compiled MTProto message cipher (see `_mtcrypto.pyx`); the Python
twin with the same API is `tlcodec.crypto.PythonMessageCipher`."""

from typing import Callable

LIBRARY: str | None
LOAD_ERROR: str | None
PADDING_POOL_BYTES: int

class MessageCipher:
    auth_key_id: bytes
    def __init__(
        self,
        auth_key: bytes,
        from_client: bool,
        random_bytes: Callable[[int], bytes] = ...,
        pool_size: int = ...,
    ) -> None: ...
    def encrypt(self, plaintext: bytes) -> bytes: ...
    def decrypt(self, msg_key: bytes, ciphertext: bytes) -> bytes | None: ...
    def message_aes_key_iv(self, msg_key: bytes) -> tuple[bytes, bytes]: ...
    def encrypt_message(
        self, salt: int, session_id: int, msg_id: int, seq_no: int, body: bytes,
        padding_size: int = -1,
    ) -> bytes: ...
    def decrypt_message(self, payload: bytes) -> bytes | None: ...
