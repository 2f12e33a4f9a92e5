# The C types of connection.py's compiled build (tlcodec.client._connection_c; Cython's
# pure-Python mode: connection.py is the source, this file only declares). Attributes are
# `public` so that the client and the tests see the same objects as in the plain module.
cimport cython

cdef double DEADLINE_SLOT
cdef int _PENDING, _FINISHED, _FAILED, _CANCELLED

@cython.final
cdef class _Call:
    cdef public object request, future, pending, slot

@cython.final
cdef class _Wakeups:
    cdef object _loop
    cdef list _due
    cdef schedule(self, _Reply reply, list callbacks)

@cython.final
cdef class _Reply:
    cdef object _value
    cdef _Wakeups _wakeups
    cdef int _state
    cdef list _callbacks
    cdef public bint _asyncio_future_blocking  # set by asyncio's Task
    cdef _error(self)
    cdef _settle(self, int state, object value)

@cython.final
cdef class _Deadlines:
    cdef object _loop, _clock, _expire
    cdef public dict _slots, _timers
    @cython.locals(slot=long, calls=dict, now=double)
    cpdef add(self, _Call call, double timeout)
    @cython.locals(calls=dict)
    cpdef discard(self, _Call call)

@cython.final
cdef class DcConnection:
    cdef dict __dict__  # instance attributes beyond these (tests wrap `_dispatch` on one)
    cdef public object dc_id, host, port, settings, _transport_cls
    cdef public bint _obfuscated, _in_session, _closed, _answered, _ready
    cdef public object _on_update, _on_auth_key, _on_session_state, _on_config, _on_connected
    cdef public object _loop, _auth_key, _session, _protocol, _tcp, _framing, _plain, _lost
    cdef public object _supervisor, _first, _flush_handle, _ack_timer, _broken, _init_call
    cdef public object _init_timer, config
    cdef public _Deadlines _deadlines
    cdef public _Wakeups _wakeups
    cdef public dict _calls
    cdef public list _waiting, _config_waiters
    cdef public Py_ssize_t _unflushed, connections_made
