# The C types of session.py's compiled build (tlcodec.mtproto._session_c; Cython's pure-Python
# mode: session.py is the source, this file only declares). Attributes are `public` so that the
# Python API and the tests see the same objects as in the plain module.
cimport cython

cdef unsigned int RPC_RESULT_ID, RPC_ERROR_ID, MSG_CONTAINER_ID, GZIP_PACKED_ID
# C constants: a literal above a C int would make Cython compute with Python ints.
cdef long long _TWO_31, _TWO_32, _LOW_HALF

@cython.locals(b0="unsigned int", b1="unsigned int", b2="unsigned int", b3="unsigned int")
cdef inline unsigned int _u32_at(bytes data, Py_ssize_t at) except? 0xFFFFFFFF

@cython.locals(value="unsigned int")
cdef inline int _i32_at(bytes data, Py_ssize_t at) except? -1

cdef inline long long _i64_at(bytes data, Py_ssize_t at) except? -1

@cython.locals(position=Py_ssize_t, end=Py_ssize_t, count=int, length=Py_ssize_t,
               msg_id="long long", seq_no=int, items=list, item=tuple,
               container_second="long long")
cdef list _parse_container(long long container_id, bytes body, bint from_server=*,
                           list earlier=*)

@cython.final
cdef class PendingRequest:
    cdef public object request
    cdef public bytes body
    cdef public object msg_id, seq_no, container_msg_id
    cdef public tuple old_msg_ids
    cdef public bint acked
    cdef public int resends
    cdef public str state
    cdef public object result_spec

@cython.final
cdef class _Outgoing:
    cdef public bytes body
    cdef public bint content_related, is_reply
    cdef public object ack_ids

@cython.final
cdef class EncryptedSession:
    cdef public bytes auth_key
    cdef public object auth_key_id
    cdef public str role
    cdef public bint _is_client, _minimal_padding, _announce_session, _force_acks
    cdef public object _out_cipher, _in_cipher
    cdef public object _schema, _registry, _decode, _object_spec, _rpc_error_spec, _gzip_spec, _encode
    cdef public Py_ssize_t _max_inflated, _inflate_budget
    cdef public object _random_bytes, _now, _padding
    cdef public object ack_threshold, ack_delay, max_resends, max_container_bytes, time_offset
    cdef public object _salt, _previous_salt, _session_id
    cdef public list future_salts
    cdef public long long _content_count, _last_msg_id, _highest_received
    cdef public Py_ssize_t _received_window, _received_next
    cdef public list _received
    cdef public object _queue, _sent_other, _acks_since, _last_now
    cdef public dict _pending_acks, _sent, _handlers
    cdef public set _received_set
    cdef public object dropped, skipped

    cdef long long _new_msg_id(self, bint is_reply)
    cdef long long _clock_msg_id(self)
    @cython.locals(last="long long", msg_id="long long")
    cdef long long _next_msg_id(self, long long clock_msg_id, bint is_reply)
    cdef long long _next_seq_no(self, bint content_related)
    cdef bytes _encrypt(self, long long msg_id, long long seq_no, bytes body)
    # msg_id and seq_no stay Python ints: made once, used four times each.
    @cython.locals(clock_msg_id="long long", is_client=bint, any_reply=bint, body=bytes,
                   pending=PendingRequest, sent=dict, parts=list, others=list, requests=list,
                   request_ids=list)
    cdef bytes _pack_container(self, list items)
    cdef _remember_sent(self, long long msg_id, list request_ids, list others)
    cdef bint _is_replay(self, long long msg_id) except -1
    @cython.locals(received=list, oldest=Py_ssize_t)
    cdef _remember_received(self, object msg_id)
    cdef _queue_ack(self, object msg_id)
    cdef _finish(self, PendingRequest pending)
    @cython.locals(items=list, earlier=list, seq_no=int, inner=bytes, received_set=set)
    cdef _client_container(self, long long container_id, bytes body, list events, bint inflated)
    cdef _client_body(self, long long msg_id, bytes body, list events, bint top, bint inflated)
    @cython.locals(now=double, offset=double, age=double)
    cdef bint _too_old_item(self, long long msg_id, bytes body) except -1
    @cython.locals(req_msg_id="long long", result_id="unsigned int", pending=PendingRequest,
                   data=bytes)
    cdef _on_rpc_result(self, object msg_id, bytes body, list events, bint inflated)
    cdef _decode_known(self, object msg_id, bytes body, list events)
