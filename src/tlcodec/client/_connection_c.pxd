# The C types of connection.py's compiled build (tlcodec.client._connection_c; Cython's
# pure-Python mode: connection.py is the source, this file only declares). Its base class, the
# compiled build of calls.py, is cimported. Attributes are `public` so that the client and the
# tests see the same objects as in the plain module.
cimport cython
cimport tlcodec.client._calls_c as calls

@cython.final
cdef class DcConnection(calls.DcCalls):
    cdef public object host, port, _transport_cls
    cdef public bint _obfuscated
    cdef public object _on_auth_key, _on_config, _on_connected
    cdef public object _auth_key, _protocol, _plain, _lost, _supervisor, _first
    cdef public object _init_call, _init_timer, config, _get_config, _ping_delay_disconnect
    cdef public list _config_waiters
    cdef public Py_ssize_t connections_made
