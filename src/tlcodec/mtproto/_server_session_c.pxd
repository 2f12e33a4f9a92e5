# The C types of server_session.py's compiled build (tlcodec.mtproto._server_session_c;
# Cython's pure-Python mode: server_session.py is the source, this file only declares). Its
# base class and the shared container parser are the compiled core's, cimported.
cimport cython
cimport tlcodec.mtproto._session_c as core

# The constants its hot paths compare with, as C (imported from session.py at load).
cdef unsigned int MSG_CONTAINER_ID, GZIP_PACKED_ID, RPC_RESULT_ID

cdef class ServerSession(core.EncryptedSession):
    cdef public bint _announce_session

    cdef list _receive_message(self, object salt, object session_id, object msg_id,
                               object seq_no, bytes body)
