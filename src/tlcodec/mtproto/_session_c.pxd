# The C types of session.py's compiled build (tlcodec.mtproto._session_c; Cython's pure-Python
# mode: session.py is the source, this file only declares). The client and server sessions'
# builds cimport it: their classes extend EncryptedSession, and they call its cdef functions and
# methods as C. Attributes are `public` so that the Python API and the tests see the same
# objects as in the plain modules.
cimport cython

cdef unsigned int RPC_RESULT_ID, RPC_ERROR_ID, MSG_CONTAINER_ID, GZIP_PACKED_ID
# C constants: a literal above a C int would make Cython compute with Python ints.
cdef long long _TWO_31, _TWO_32, _LOW_HALF

@cython.locals(b0="unsigned int", b1="unsigned int", b2="unsigned int", b3="unsigned int")
cdef unsigned int _u32_at(bytes data, Py_ssize_t at) except? 0xFFFFFFFF

@cython.locals(value="unsigned int")
cdef int _i32_at(bytes data, Py_ssize_t at) except? -1

cdef long long _i64_at(bytes data, Py_ssize_t at) except? -1

@cython.locals(position=Py_ssize_t, end=Py_ssize_t, count=int, length=Py_ssize_t,
               msg_id="long long", seq_no=int, items=list, item=tuple,
               container_second="long long")
cdef list _parse_container(long long container_id, bytes body, bint from_server=*,
                           list earlier=*)

@cython.final
cdef class _Outgoing:
    cdef public bytes body
    cdef public bint content_related, is_reply
    cdef public object ack_ids

cdef class EncryptedSession:
    cdef public bytes auth_key
    cdef public object auth_key_id
    cdef public str role
    cdef public bint _minimal_padding, _force_acks
    cdef public object _out_cipher, _in_cipher
    cdef public object _schema, _registry, _decode, _object_spec, _rpc_error_spec, _gzip_spec, _encode
    cdef public object _inflate_gzip
    cdef public Py_ssize_t _max_inflated, _inflate_budget
    cdef public object _random_bytes, _now, _padding
    cdef public object ack_threshold, ack_delay, max_container_bytes, time_offset
    cdef public object _salt, _previous_salt, _session_id
    cdef public long long _content_count, _last_msg_id, _highest_received
    cdef public long long _reply_residue, _own_residue
    cdef public Py_ssize_t _received_window, _received_next
    cdef public list _received
    cdef public object _queue, _acks_since, _last_now
    cdef public dict _pending_acks, _handlers
    cdef public set _received_set
    cdef public object dropped, skipped

    # Each role's own: how it remembers what it sent, and how it takes a message in.
    cdef _sent_alone(self, long long msg_id, long long seq_no, object item)
    cdef _sent_in_container(self, long long container_id, list items, list msg_ids,
                            list seq_nos)
    cdef list _receive_message(self, object salt, object session_id, object msg_id,
                               object seq_no, bytes body)

    @cython.final
    cdef long long _new_msg_id(self, bint is_reply)
    @cython.final
    cdef long long _clock_msg_id(self)
    @cython.final
    @cython.locals(last="long long", msg_id="long long")
    cdef long long _next_msg_id(self, long long clock_msg_id, bint is_reply)
    @cython.final
    cdef long long _next_seq_no(self, bint content_related)
    @cython.final
    cdef bytes _encrypt(self, long long msg_id, long long seq_no, bytes body)
    # msg_id and seq_no stay Python ints: made once, used four times each.
    @cython.final
    @cython.locals(clock_msg_id="long long", any_reply=bint, body=bytes, parts=list,
                   msg_ids=list, seq_nos=list)
    cdef bytes _pack_container(self, list items)
    @cython.final
    cdef bint _is_replay(self, long long msg_id) except -1
    @cython.final
    @cython.locals(received=list, oldest=Py_ssize_t)
    cdef _remember_received(self, object msg_id)
    @cython.final
    cdef _queue_ack(self, object msg_id)
    @cython.final
    cdef _decode_known(self, object msg_id, bytes body, list events)
