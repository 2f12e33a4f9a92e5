# The C types of client_session.py's compiled build (tlcodec.mtproto._client_session_c;
# Cython's pure-Python mode: client_session.py is the source, this file only declares). Its
# base class and the shared readers are the compiled core's, cimported.
cimport cython
cimport tlcodec.mtproto._session_c as core

# The constants its hot paths compare with, as C (imported from session.py at load).
cdef unsigned int RPC_RESULT_ID, RPC_ERROR_ID, MSG_CONTAINER_ID, GZIP_PACKED_ID
cdef unsigned int BAD_SERVER_SALT_ID, BAD_MSG_NOTIFICATION_ID
cdef long long _TWO_32

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

cdef class ClientSession(core.EncryptedSession):
    cdef public object max_resends
    cdef public list future_salts
    cdef public dict _sent
    cdef public object _sent_other

    @cython.locals(pending=PendingRequest)
    cdef _sent_alone(self, long long msg_id, long long seq_no, object item)
    @cython.locals(pending=PendingRequest, sent=dict, request_ids=list, others=list,
                   index=Py_ssize_t)
    cdef _sent_in_container(self, long long container_id, list items, list msg_ids,
                            list seq_nos)
    @cython.final
    cdef _remember_sent(self, long long msg_id, list request_ids, list others)
    cdef list _receive_message(self, object salt, object session_id, object msg_id,
                               object seq_no, bytes body)
    @cython.final
    cdef _finish(self, PendingRequest pending)
    @cython.final
    @cython.locals(items=list, earlier=list, seq_no=int, inner=bytes, received_set=set)
    cdef _client_container(self, long long container_id, bytes body, list events, bint inflated)
    @cython.final
    cdef _client_body(self, long long msg_id, bytes body, list events, bint top, bint inflated)
    @cython.final
    @cython.locals(now=double, offset=double, age=double)
    cdef bint _too_old_item(self, long long msg_id, bytes body) except -1
    @cython.final
    @cython.locals(req_msg_id="long long", result_id="unsigned int", pending=PendingRequest,
                   data=bytes)
    cdef _on_rpc_result(self, object msg_id, bytes body, list events, bint inflated)
