# The C types of _plumbing.py's compiled build (tlcodec.client._plumbing_c; Cython's pure-Python
# mode: _plumbing.py is the source, this file only declares). calls.py and connection.py reach
# these types through `cimport` (their .pxd files), so the calls between them stay C calls.
cimport cython

cdef double DEADLINE_SLOT
cdef int _PENDING, _FINISHED, _FAILED, _CANCELLED

@cython.final
cdef class Call:
    cdef public object request, future, pending, slot

@cython.final
cdef class Wakeups:
    cdef object _loop
    cdef list _due
    cdef schedule(self, Reply reply, list callbacks)

@cython.final
cdef class Reply:
    cdef object _value
    cdef Wakeups _wakeups
    cdef int _state
    cdef list _callbacks
    cdef public bint _asyncio_future_blocking  # set by asyncio's Task
    cdef _error(self)
    cdef _settle(self, int state, object value)

@cython.final
cdef class Deadlines:
    cdef object _loop, _clock, _expire
    cdef public dict _slots, _timers
    @cython.locals(slot=long, calls=dict, now=double)
    cpdef add(self, Call call, double timeout)
    @cython.locals(calls=dict)
    cpdef discard(self, Call call)
