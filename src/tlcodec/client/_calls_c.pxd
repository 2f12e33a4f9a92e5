# The C types of calls.py's compiled build (tlcodec.client._calls_c; Cython's pure-Python mode:
# calls.py is the source, this file only declares). `DcCalls` is the base of connection.py's
# DcConnection, which cimports it; attributes are `public` so that the client and the tests see
# the same objects as in the plain module.
cimport cython
cimport tlcodec.client._plumbing_c as _plumbing

cdef class DcCalls:
    cdef dict __dict__  # instance attributes beyond these (tests wrap `_dispatch` on one)
    cdef public object dc_id, settings, _on_update, _on_session_state, _schema, _registry
    cdef public bint _in_session, _closed, _answered, _ready
    cdef public object _loop, _session, _tcp, _framing, _broken, _flush_handle, _ack_timer
    cdef public _plumbing.Deadlines _deadlines
    cdef public _plumbing.Wakeups _wakeups
    cdef public dict _calls
    cdef public list _waiting
    cdef public Py_ssize_t _unflushed
    cdef _plumbing.Call _awaited_call(self, object request)  # typed: see calls.py
