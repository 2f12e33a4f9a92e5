"""MTProto 2.0 without I/O: transports, the auth-key exchange, encrypted sessions.

Every object here takes bytes and returns bytes and events; sockets live in `tlcodec.client`
and `tlcodec.testing`. The protocol facts are PROTOCOL.md sections 3-6.
"""
