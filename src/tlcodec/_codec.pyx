# cython: language_level=3, freethreading_compatible=False
"""Compiled TL codec: one interpreter of per-constructor plans, C-level dispatch on the id.

Same API, errors and bytes as the pure-Python twin `_codec_py.py` (read that first: it is the
reference). The wire format is PROTOCOL.md section 1.

Speed comes from three things: a plan per constructor is a flat C array of steps; objects are
built without running Python `__init__` (values are stored straight into the instance's
`__slots__` at offsets read once from the slot descriptors); and bytes are grown in one `bytes`
object that is returned without a copy. Safety comes from one explicit length check per read
(`Reader._need`) on input that may have come from a socket.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, _PyBytes_Resize
from cpython.buffer cimport PyBUF_SIMPLE, PyObject_GetBuffer, PyBuffer_Release
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_DECREF, Py_INCREF, Py_XDECREF
from cpython.dict cimport PyDict_GetItem
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

import sys
import zlib
from types import MemberDescriptorType

cimport cython

from .errors import DecodeError, InflateLimitError

cdef extern from "Python.h":
    PyObject* _PyType_Lookup(PyTypeObject* type, object name)
    const char* PyUnicode_AsUTF8AndSize(object unicode, Py_ssize_t* size) except NULL
    bint PyLong_CheckExact(object o)
    bint PyLong_Check(object o)
    bint PyBool_Check(object o)
    bint PyFloat_Check(object o)
    bint PyUnicode_Check(object o)
    bint PyBytes_CheckExact(object o)
    bint PyByteArray_Check(object o)
    bint PyMemoryView_Check(object o)
    bint PyList_CheckExact(object o)
    bint PyTuple_Check(object o)
    char* PyByteArray_AS_STRING(object o)
    Py_ssize_t PyByteArray_GET_SIZE(object o)
    Py_ssize_t PyBytes_GET_SIZE(object o)
    long long PyLong_AsLongLongAndOverflow(object o, int* overflow) except? -1
    object PyLong_FromLong(long v)
    object PyLong_FromLongLong(long long v)
    object PyLong_FromUnsignedLong(unsigned long v)
    PyTypeObject* Py_TYPE(object o)
    bint PyType_IsSubtype(PyTypeObject* a, PyTypeObject* b)
    object PyFloat_FromDouble(double v)
    double PyFloat_AS_DOUBLE(object o)
    double PyLong_AsDouble(object o) except? -1.0

cdef extern from *:
    """
    /* PyFloat_Pack8/PyFloat_Unpack8 are public from 3.11; 3.10 has the same functions (same
       IEEE 754 handling and errors) as the private _PyFloat_Pack8/_PyFloat_Unpack8, which take
       unsigned char*. */
    #if PY_VERSION_HEX < 0x030B0000
    static int tl_float_pack8(double x, char *p, int le) {
        return _PyFloat_Pack8(x, (unsigned char *)p, le);
    }
    static double tl_float_unpack8(const char *p, int le) {
        return _PyFloat_Unpack8((const unsigned char *)p, le);
    }
    #else
    #define tl_float_pack8(x, p, le) PyFloat_Pack8((x), (p), (le))
    #define tl_float_unpack8(p, le) PyFloat_Unpack8((p), (le))
    #endif
    """
    double PyFloat_Unpack8 "tl_float_unpack8" (const char* p, int le) except? -1.0
    int PyFloat_Pack8 "tl_float_pack8" (double x, char* p, int le) except -1

cdef extern from "Python.h":
    PyObject* PyDict_GetItemWithError(object d, object key) except? NULL
    PyObject* Py_False_ "Py_False"
    PyObject* Py_None_ "Py_None"
    Py_ssize_t PY_SSIZE_T_MAX
    object PyMemoryView_FromMemory(char* mem, Py_ssize_t size, int flags)
    int PyBUF_READ

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        const char* name
        int type
        Py_ssize_t offset
    int T_OBJECT_EX

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member

cdef extern from *:
    """
    /* Allocates an instance the way type.__call__ would, but runs neither __new__ nor
       __init__ in Python: the decoder fills the slots itself. */
    static PyObject* tl_alloc_instance(PyTypeObject* type) {
        return type->tp_alloc(type, 0);
    }
    """
    PyObject* tl_alloc_instance(PyTypeObject* type)

cdef extern from *:
    """
    /* Makes `cls(...)` call `construct` directly with the vectorcall convention instead of
       type.__call__ -> __init__, which would build a kwargs dict per call. */
    static void tl_set_vectorcall(PyTypeObject* type, void* construct) {
        type->tp_vectorcall = (vectorcallfunc)construct;
    }
    """
    void tl_set_vectorcall(PyTypeObject* type, void* construct)
    size_t PY_VECTORCALL_ARGUMENTS_OFFSET
    Py_ssize_t PyTuple_GET_SIZE(PyObject* tuple)
    PyObject* PyTuple_GET_ITEM(PyObject* tuple, Py_ssize_t index)

IS_COMPILED = True

# Field and value kinds: the same numbers as the twin.
cdef enum:
    K_INT_ = 1
    K_LONG_ = 2
    K_DOUBLE_ = 3
    K_INT128_ = 4
    K_INT256_ = 5
    K_STRING_ = 6
    K_BYTES_ = 7
    K_BOOL_ = 8
    K_TRUE_ = 9
    K_FLAGS_ = 10
    K_BOXED_ = 11
    K_QUERY_ = 12
    K_BARE_ = 13
    K_VECTOR_ = 14
    K_BARE_VECTOR_ = 15

K_INT = K_INT_
K_LONG = K_LONG_
K_DOUBLE = K_DOUBLE_
K_INT128 = K_INT128_
K_INT256 = K_INT256_
K_STRING = K_STRING_
K_BYTES = K_BYTES_
K_BOOL = K_BOOL_
K_TRUE = K_TRUE_
K_FLAGS = K_FLAGS_
K_BOXED = K_BOXED_
K_QUERY = K_QUERY_
K_BARE = K_BARE_
K_VECTOR = K_VECTOR_
K_BARE_VECTOR = K_BARE_VECTOR_

cdef enum:
    VECTOR_ID_ = 0x1CB5C415
    BOOL_TRUE_ID_ = 0x997275B5
    BOOL_FALSE_ID_ = 0xBC799737
    GZIP_PACKED_ID_ = 0x3072CFA1
    MAX_DEPTH_ = 64
    DEFAULT_MAX_INFLATED_ = 16 * 1024 * 1024
    MAX_FLAG_WORDS = 4
    MAX_STEPS = 255        # fields per constructor (the largest in layer 228 has under 80)
    STACK_BUFFER = 256     # objects encoded smaller than this never touch the heap twice

VECTOR_ID = VECTOR_ID_
BOOL_TRUE_ID = <uint32_t>BOOL_TRUE_ID_  # the enum is a C int: above 2^31 it reads negative
BOOL_FALSE_ID = <uint32_t>BOOL_FALSE_ID_
GZIP_PACKED_ID = GZIP_PACKED_ID_
MAX_DEPTH = MAX_DEPTH_
DEFAULT_MAX_INFLATED = DEFAULT_MAX_INFLATED_  # one decode inflates at most this much gzip_packed
MAX_BYTES_LENGTH = (1 << 24) - 1  # the longest length a 3-byte prefix can carry

cdef str PLAN_ATTR = "__tl_plan__"


# ----------------------------------------------------------------------------------------------
# Little-endian access that does not depend on the host's byte order or alignment.

cdef inline uint32_t load_u32(const unsigned char* p) noexcept nogil:
    return <uint32_t>p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)

cdef inline uint64_t load_u64(const unsigned char* p) noexcept nogil:
    return <uint64_t>load_u32(p) | (<uint64_t>load_u32(p + 4) << 32)

cdef inline void store_u32(unsigned char* p, uint32_t v) noexcept nogil:
    p[0] = v & 0xFF
    p[1] = (v >> 8) & 0xFF
    p[2] = (v >> 16) & 0xFF
    p[3] = v >> 24

cdef inline void store_u64(unsigned char* p, uint64_t v) noexcept nogil:
    store_u32(p, <uint32_t>(v & 0xFFFFFFFFu))
    store_u32(p + 4, <uint32_t>(v >> 32))


# ----------------------------------------------------------------------------------------------
# Plans

cdef class TypeSpec:
    """How one value is laid out: a base type, a boxed type, a bare constructor or a vector.

    Immutable once made, and checked when made: the interpreter follows `elem` and `plan`
    without looking, so a spec that was not built by __init__ (`TypeSpec.__new__`) or that
    lacks what its kind needs is refused wherever one enters the codec."""

    cdef readonly int kind          # one of the K_* kinds
    cdef readonly str name          # the TL spelling, for error messages
    cdef readonly int type_id       # K_BOXED: index of the boxed type in the registry; -1 = Object
    cdef readonly TypeSpec elem     # vectors: the element spec
    cdef readonly Plan plan         # K_BARE: the constructor; K_BOXED: the one constructor wanted
    cdef bint complete              # set by __init__ once the parts are checked

    def __init__(self, int kind, str name not None, int type_id=-1, TypeSpec elem=None,
                 Plan plan=None):
        if kind < K_INT_ or kind > K_BARE_VECTOR_:
            raise ValueError(f"{name}: unknown TypeSpec kind {kind}")
        if kind == K_VECTOR_ or kind == K_BARE_VECTOR_:
            if elem is None or not elem.complete:
                raise ValueError(f"{name}: a vector TypeSpec needs a complete element TypeSpec")
            if elem.kind == K_FLAGS_ or elem.kind == K_TRUE_:
                raise ValueError(f"{name}: a vector cannot hold {elem.name} values")
        if kind == K_BARE_ and plan is None:
            raise ValueError(f"{name}: a bare TypeSpec needs its constructor's Plan")
        self.kind = kind
        self.name = name
        self.type_id = type_id
        self.elem = elem
        self.plan = plan
        self.complete = True

    cpdef Py_ssize_t min_size(self):
        """The fewest bytes a value of this spec can take on the wire (vector count checks)."""
        if self.kind == K_INT_:
            return 4
        if self.kind == K_LONG_ or self.kind == K_DOUBLE_ or self.kind == K_VECTOR_:
            return 8
        if self.kind == K_INT128_:
            return 16
        if self.kind == K_INT256_:
            return 32
        if self.kind == K_BARE_:
            return self.plan.min_size
        return 4

    def __repr__(self):
        return f"<TypeSpec {self.name}>"


cdef inline TypeSpec checked_spec(object spec, object expected):
    """`spec` if the decoder may follow it; a TypeError for anything else."""
    if not isinstance(spec, TypeSpec) or not (<TypeSpec>spec).complete:
        what = "a TypeSpec not made by TypeSpec()" if isinstance(expected, TypeSpec) else repr(expected)
        raise TypeError(f"expected {what} does not give a complete TypeSpec")
    if (<TypeSpec>spec).kind == K_FLAGS_ or (<TypeSpec>spec).kind == K_TRUE_:
        raise TypeError(f"{(<TypeSpec>spec).name} is part of a constructor, not a value")
    return <TypeSpec>spec


cdef struct Step:
    int kind               # the field's value kind (K_FLAGS for a `#` word)
    int flag_index         # which flag word guards the field, -1 if unconditional
    uint32_t mask          # the guarding bit
    int word_slot          # K_FLAGS: which word this field holds
    Py_ssize_t offset      # where the instance keeps the value (its slot); -1 for K_FLAGS
    PyObject* spec         # borrowed TypeSpec, kept alive by Plan.fields
    PyObject* attr         # borrowed attribute name, kept alive by Plan.fields


cdef class Plan:
    """One constructor or function compiled for the interpreter.

    What the interpreter trusts (the steps, the class and its slot offsets) is read-only, and
    a bound plan's fields and class are fixed: a decode or encode in progress walks the steps
    while user code (a list's __iter__, a lazy class factory) may run in between."""

    cdef public uint32_t constructor_id
    cdef public str tl_name
    cdef public int type_id              # index of the boxed type; -1 for functions
    cdef public bint is_function
    cdef readonly list fields            # (attribute, spec, flag word index, mask, word slot)
    cdef readonly tuple attrs            # the attributes in field order (flag words excluded)
    cdef readonly int n_flag_words
    cdef readonly object cls             # the class whose instances this plan builds
    cdef public TypeSpec result          # functions: what the call returns (None for `= X`)
    cdef readonly Registry registry      # set by the Registry that holds this plan
    cdef public TypeSpec exact_spec      # accepts exactly this constructor (Cls.from_bytes)
    cdef readonly Py_ssize_t min_size    # a lower bound of the encoded size
    cdef readonly list descriptors       # the slot descriptors, for introspection
    cdef public object factory           # makes and binds the class on first use (lazy schemas)
    cdef dict attr_index                 # attribute name -> step index (keyword arguments)
    cdef tuple step_refs                 # owns the specs and names the steps borrow
    cdef Step* steps
    cdef Py_ssize_t n_steps

    def __cinit__(self):
        self.steps = NULL
        self.n_steps = 0

    def __dealloc__(self):
        PyMem_Free(self.steps)

    def __init__(self, uint32_t constructor_id, str tl_name, int type_id, bint is_function, list fields):
        if self.fields is not None:
            raise RuntimeError(f"{self.tl_name}: Plan is already initialised")
        self.constructor_id = constructor_id
        self.tl_name = tl_name
        self.type_id = type_id
        self.is_function = is_function
        self.cls = None
        self.result = None
        self.registry = None
        self.factory = None
        self.descriptors = []
        self.exact_spec = TypeSpec(K_BOXED_, tl_name, type_id, None, self)
        self.set_fields(fields)

    def set_fields(self, list fields not None):
        """(attribute, spec, flag word index or -1, bit mask, word slot of a K_FLAGS field)."""
        cdef Py_ssize_t i, n = len(fields)
        cdef Step* steps
        if self.cls is not None:
            raise ValueError(f"{self.tl_name}: the fields of a bound plan cannot change")
        fields = checked_fields(self.tl_name, fields)
        steps = <Step*>PyMem_Malloc(max(n, 1) * sizeof(Step))
        if steps == NULL:
            raise MemoryError()
        attr_index = {}
        attrs = []
        n_flag_words = 0
        min_size = 0
        for i in range(n):
            attr, spec, flag_index, mask, word_slot = fields[i]
            steps[i].kind = (<TypeSpec>spec).kind
            steps[i].flag_index = flag_index
            steps[i].mask = mask
            steps[i].word_slot = word_slot
            steps[i].offset = -1
            steps[i].spec = <PyObject*>spec
            steps[i].attr = <PyObject*>attr
            if steps[i].kind == K_FLAGS_:
                n_flag_words += 1
            else:
                attrs.append(attr)
                attr_index[attr] = i
            if flag_index < 0 and steps[i].kind != K_TRUE_ and steps[i].kind != K_BARE_:
                min_size += (<TypeSpec>spec).min_size()
        PyMem_Free(self.steps)
        self.steps = steps
        self.n_steps = n
        self.step_refs = tuple(fields)  # `fields` is a list its readers may change
        self.fields = fields
        self.attr_index = attr_index
        self.attrs = tuple(attrs)
        self.n_flag_words = n_flag_words
        self.min_size = min_size

    def bind(self, cls):
        """Attach the class whose instances this plan encodes and decodes."""
        cdef Py_ssize_t i
        cdef PyMemberDef* member
        if self.fields is None:
            raise RuntimeError("Plan is not initialised (made without calling __init__)")
        if self.cls is not None and self.cls is not cls:
            raise ValueError(f"{self.tl_name} is already bound to {self.cls.__name__}")
        if not (isinstance(cls, type) and issubclass(cls, TLObject)):
            raise TypeError(f"{cls!r} is not a TLObject subclass")
        descriptors = []
        for i in range(self.n_steps):
            if self.steps[i].kind == K_FLAGS_:
                continue
            attr = <object>self.steps[i].attr
            # The slot may be the class's own or a base's (a subclass of a generated class).
            descriptor = next((k.__dict__[attr] for k in cls.__mro__ if attr in k.__dict__), None)
            # Only a slot of `cls` or of a base gives an offset inside its instances.
            if type(descriptor) is not MemberDescriptorType or not issubclass(cls, descriptor.__objclass__):
                raise TypeError(f"{cls.__name__} has no slot for field {attr!r}")
            member = (<PyMemberDescrObject*><PyObject*>descriptor).d_member
            if member.type != T_OBJECT_EX:
                raise TypeError(f"{cls.__name__}.{attr} is not an object slot")
            self.steps[i].offset = member.offset
            descriptors.append(descriptor)
        self.descriptors = descriptors
        self.cls = cls
        setattr(cls, PLAN_ATTR, self)
        if not any("__init__" in k.__dict__ or "__new__" in k.__dict__
                   for k in cls.__mro__[:cls.__mro__.index(TLRequest if issubclass(cls, TLRequest) else TLObject)]):
            # Only when the class keeps the generic constructor: a subclass that defines its
            # own __init__ or __new__ is constructed the ordinary way.
            tl_set_vectorcall(<PyTypeObject*>cls, <void*>construct)

    def __repr__(self):
        return f"<Plan {self.tl_name}#{self.constructor_id:08x}>"


cdef list checked_fields(str tl_name, list fields):
    """The fields as tuples, or a ValueError/TypeError for what the interpreter cannot run:
    a spec not made by TypeSpec(), a flag word read before it is declared, too many fields or
    flag words, a `true` field no flag bit guards. The same rules as the twin's."""
    checked = []
    n_flag_words = 0
    if len(fields) > MAX_STEPS:
        raise ValueError(f"{tl_name}: more than {MAX_STEPS} fields")
    for field in fields:
        attr, spec, flag_index, mask, word_slot = field
        if not isinstance(attr, str):
            raise TypeError(f"{tl_name}: field name {attr!r} is not a str")
        attr = sys.intern(attr)  # keyword names from call sites then match by identity
        if not isinstance(spec, TypeSpec) or not (<TypeSpec>spec).complete:
            raise TypeError(f"{tl_name}.{attr}: spec must be a TypeSpec")
        if not -1 <= flag_index < n_flag_words:
            raise ValueError(f"{tl_name}.{attr}: flag word {flag_index} is not declared before it")
        if not 0 <= mask <= 0xFFFFFFFF:
            raise ValueError(f"{tl_name}.{attr}: flag mask {mask} is not a 32-bit value")
        if (<TypeSpec>spec).kind == K_FLAGS_:
            if word_slot != n_flag_words:
                raise ValueError(f"{tl_name}.{attr}: flag word slot {word_slot} is not {n_flag_words}")
            n_flag_words += 1
            if n_flag_words > MAX_FLAG_WORDS:
                raise ValueError(f"{tl_name}: more than {MAX_FLAG_WORDS} flag words")
        elif (<TypeSpec>spec).kind == K_TRUE_ and flag_index < 0:
            raise ValueError(f"{tl_name}.{attr}: a true field needs a flag bit")
        checked.append((attr, spec, flag_index, mask, word_slot))
    return checked


cdef str tl_name_of(Plan plan):
    if plan is None:
        return "value"  # encode_value: a bare value has no class to name
    return plan.cls.__name__ if plan.cls is not None else plan.tl_name


cdef inline Plan plan_of_type(PyTypeObject* tp):
    """The plan bound to an object's class, or None: an MRO-cache lookup, no dict on the way."""
    cdef PyObject* found = _PyType_Lookup(tp, PLAN_ATTR)
    if found == NULL or type(<object>found) is not Plan:
        return None
    # Trusted only for instances laid out like the plan's class (its slot offsets): not for a
    # class that copied another's `__tl_plan__`, nor one whose plan was never bound.
    cdef PyObject* cls = <PyObject*>(<Plan>found).cls
    if <PyTypeObject*>cls != tp and (cls == Py_None_ or not PyType_IsSubtype(tp, <PyTypeObject*>cls)):
        return None
    return <Plan>found


cdef class Registry:
    """The constructors of one schema, found by id through an open-addressing table.

    A schema may hold most of its plans back until they are needed: then `loader` is called
    with an id the table lacks, and either returns None or `add`s the plan and returns it."""

    cdef readonly list type_names
    cdef readonly dict by_id
    cdef public object resolver          # turns `expected` (a TL type name, a class) into a TypeSpec
    cdef public object loader            # id -> the plan, added now, or None (lazy schemas)
    cdef public object family            # registries whose objects may nest in each other's
    cdef public str name                 # the schema, as error messages name it
    cdef readonly TypeSpec object_spec   # any boxed object
    cdef list _plans               # keeps the table's borrowed pointers alive
    cdef uint32_t* _keys
    cdef PyObject** _values
    cdef uint32_t _mask

    def __cinit__(self):
        self._keys = NULL
        self._values = NULL

    def __dealloc__(self):
        PyMem_Free(self._keys)
        PyMem_Free(self._values)

    def __init__(self, list plans not None, list type_names not None):
        cdef Plan plan
        cdef uint32_t size = 16
        if self._values != NULL:
            raise RuntimeError("Registry is already initialised")
        for candidate in plans:
            if not isinstance(candidate, Plan) or (<Plan>candidate).fields is None:
                raise TypeError(f"{type(candidate).__name__} object is not an initialised Plan")
        self.type_names = list(type_names)
        self.by_id = {}
        self.resolver = None
        self.loader = None
        self.family = self
        self.name = "a schema"
        self.object_spec = TypeSpec(K_BOXED_, "Object", -1)
        for plan in plans:
            other = self.by_id.get(plan.constructor_id)
            if other is not None:
                raise ValueError(
                    f"{plan.tl_name} and {other.tl_name} share id {plan.constructor_id:#010x}"
                )
            self.by_id[plan.constructor_id] = plan
            if plan.registry is None:  # a plan shared with a derived schema keeps its first
                plan.registry = self
        self._plans = list(plans)
        while size < 2 * len(plans):
            size <<= 1
        self._resize(size)

    cdef int _resize(self, uint32_t size) except -1:
        """A fresh table of `size` slots (a power of two) holding every plan of `_plans`."""
        cdef uint32_t* keys = <uint32_t*>PyMem_Malloc(size * sizeof(uint32_t))
        cdef PyObject** values = <PyObject**>PyMem_Malloc(size * sizeof(PyObject*))
        cdef Plan plan
        cdef uint32_t slot
        if keys == NULL or values == NULL:
            PyMem_Free(keys)
            PyMem_Free(values)
            raise MemoryError()
        memset(values, 0, size * sizeof(PyObject*))
        PyMem_Free(self._keys)
        PyMem_Free(self._values)
        self._keys = keys
        self._values = values
        self._mask = size - 1
        for plan in self._plans:
            slot = self._hash(plan.constructor_id)
            while self._values[slot] != NULL:
                slot = (slot + 1) & self._mask
            self._keys[slot] = plan.constructor_id
            self._values[slot] = <PyObject*>plan
        return 0

    def add(self, Plan plan not None):
        """Put one more plan in the table (a lazy schema's loader does, on first use); the plan
        already there if another took its id first (made twice by two threads)."""
        self.check_open()
        if plan.fields is None:
            raise TypeError("Plan object is not an initialised Plan")
        cdef PyObject* found = self.lookup(plan.constructor_id)
        if found != NULL:
            if (<Plan>found).tl_name != plan.tl_name or (<Plan>found).is_function != plan.is_function:
                raise ValueError(
                    f"{plan.tl_name} and {(<Plan>found).tl_name} share id {plan.constructor_id:#010x}"
                )
            return <object>found
        if plan.registry is None:
            plan.registry = self
        self.by_id[plan.constructor_id] = plan
        self._plans.append(plan)
        if 2 * len(self._plans) > <Py_ssize_t>self._mask + 1:
            self._resize(2 * (self._mask + 1))
        else:
            self._insert(plan)
        return plan

    cdef inline void _insert(self, Plan plan) noexcept:
        cdef uint32_t slot = self._hash(plan.constructor_id)
        while self._values[slot] != NULL:
            slot = (slot + 1) & self._mask
        self._keys[slot] = plan.constructor_id
        self._values[slot] = <PyObject*>plan

    cdef inline uint32_t _hash(self, uint32_t key) noexcept:
        # Ids are CRC32s, already well mixed; the multiply spreads the low bits anyway.
        return (key * <uint32_t>2654435761u >> 7) & self._mask

    cdef inline PyObject* lookup(self, uint32_t key) noexcept:
        cdef uint32_t slot = self._hash(key)
        while self._values[slot] != NULL:
            if self._keys[slot] == key:
                return self._values[slot]
            slot = (slot + 1) & self._mask
        return NULL

    cdef inline int check_open(self) except -1:
        if self._values == NULL:
            raise RuntimeError("Registry is not initialised (made without calling __init__)")
        return 0

    def plan_for_id(self, uint32_t constructor_id):
        self.check_open()
        cdef PyObject* found = self.lookup(constructor_id)
        if found == NULL:
            return self.load(constructor_id)
        return <object>found

    cdef object load(self, uint32_t constructor_id):
        """The plan the loader gives for an id not in the table yet, or None."""
        if self.loader is None:
            return None
        plan = self.loader(constructor_id)
        if plan is None:
            return None
        if type(plan) is not Plan or (<Plan>plan).constructor_id != constructor_id \
                or self.lookup(constructor_id) != <PyObject*>plan:
            raise TypeError(f"the loader gave {plan!r} for id {constructor_id:#010x} without adding it")
        return plan

    def decode(self, data, expected=None, *, bint allow_trailing=False,
               max_inflated=DEFAULT_MAX_INFLATED):
        """Decode one value of `expected` (None: any boxed object) from a whole buffer."""
        self.check_open()
        return decode_buffer(data, self, self.to_spec(expected), allow_trailing,
                             inflate_limit(max_inflated))

    cdef TypeSpec to_spec(self, expected):
        if expected is None:
            return self.object_spec
        if type(expected) is TypeSpec and (<TypeSpec>expected).complete:
            return checked_spec(expected, expected)
        if self.resolver is not None:
            return checked_spec(self.resolver(expected), expected)
        raise TypeError(f"expected must be a TypeSpec, got {expected!r}")

    cdef str type_name(self, int type_id):
        """The name of a boxed type for an error message, whatever the plan says its id is."""
        if 0 <= type_id < len(self.type_names):
            return str(self.type_names[type_id])
        return "a function" if type_id < 0 else f"type #{type_id}"


cdef object DEFAULT_MAX_INFLATED_OBJECT = DEFAULT_MAX_INFLATED


cdef Py_ssize_t inflate_limit(object max_inflated) except -1:
    """max_inflated as a byte count: a ValueError below zero; beyond what fits, no limit."""
    cdef int overflow = 0
    cdef long long value
    if max_inflated is DEFAULT_MAX_INFLATED_OBJECT:
        return DEFAULT_MAX_INFLATED_
    if not PyLong_Check(max_inflated):
        raise TypeError(f"max_inflated must be an int, got {type(max_inflated).__name__}")
    # Read in C: the session passes an int on every decode, and comparing Python ints with
    # C limits would make objects each time.
    value = PyLong_AsLongLongAndOverflow(max_inflated, &overflow)
    if overflow > 0 or (overflow == 0 and value > PY_SSIZE_T_MAX):
        return PY_SSIZE_T_MAX
    if overflow < 0 or value < 0:
        raise ValueError(f"max_inflated must not be negative, got {max_inflated}")
    return <Py_ssize_t>value


# ----------------------------------------------------------------------------------------------
# Objects

cdef inline PyObject** slot_at(object obj, Py_ssize_t offset) noexcept:
    return <PyObject**>((<char*><PyObject*>obj) + offset)


cdef inline void store_slot(object obj, Py_ssize_t offset, object value) noexcept:
    cdef PyObject** slot = slot_at(obj, offset)
    cdef PyObject* old = slot[0]
    Py_INCREF(value)
    slot[0] = <PyObject*>value
    Py_XDECREF(old)


cdef Plan bound_plan(object obj):
    cdef Plan plan = plan_of_type(Py_TYPE(obj))
    if plan is None:
        raise TypeError(f"{type(obj).__name__} is not bound to a TL schema")
    return plan


cdef inline Py_ssize_t find_step(Plan plan, PyObject* name, Py_ssize_t last) noexcept:
    """The step whose attribute is `name` (by identity), searching from just after `last`."""
    cdef Py_ssize_t n = plan.n_steps, k, i = last
    for k in range(n):
        i += 1
        if i == n:
            i = 0
        if plan.steps[i].attr == name and plan.steps[i].kind != K_FLAGS_:
            return i
    return -1


cdef object construct(PyObject* cls, PyObject** args, size_t nargsf, PyObject* kwnames):
    """`Cls(*args, **kwargs)` for a bound class, with the vectorcall convention.

    Same rules as TLObject.__init__: positional in field order or by name; a missing optional
    field is None (False for a flag-only boolean); a missing required one is a TypeError.
    """
    cdef Plan plan = plan_of_type(<PyTypeObject*>cls)
    cdef Py_ssize_t nargs = <Py_ssize_t>(nargsf & ~PY_VECTORCALL_ARGUMENTS_OFFSET)
    cdef Py_ssize_t n_keywords = 0 if kwnames == NULL else PyTuple_GET_SIZE(kwnames)
    cdef Py_ssize_t i, j, index = 0
    cdef PyObject* given[MAX_STEPS]
    cdef PyObject* raw
    cdef PyObject* found
    cdef PyObject* key
    cdef PyObject* value
    cdef Step* step
    if plan is None:
        raise TypeError(f"{(<object>cls).__name__} is not bound to a TL schema")
    if nargs > len(plan.attrs):
        raise TypeError(
            f"{(<object>cls).__name__}() takes {len(plan.attrs)} positional arguments "
            f"but {nargs} were given"
        )
    memset(given, 0, plan.n_steps * sizeof(PyObject*))
    for i in range(plan.n_steps):
        if plan.steps[i].kind == K_FLAGS_:
            continue
        if index == nargs:
            break
        given[i] = args[index]
        index += 1
    i = plan.n_steps - 1
    for j in range(n_keywords):
        key = PyTuple_GET_ITEM(kwnames, j)
        # Keywords usually come in field order and, being identifiers of the calling code,
        # interned like our attribute names: scan onwards from the last match comparing
        # pointers, and only fall back to a dict lookup for a name built at run time.
        i = find_step(plan, key, i)
        if i < 0:
            found = PyDict_GetItemWithError(plan.attr_index, <object>key)
            if found == NULL:
                raise TypeError(
                    f"{(<object>cls).__name__}() got an unexpected keyword argument "
                    f"{<object>key!r}"
                )
            i = <Py_ssize_t><object>found
        name = <object>key
        if given[i] != NULL:
            raise TypeError(f"{(<object>cls).__name__}() got multiple values for {name!r}")
        given[i] = args[nargs + j]
    raw = tl_alloc_instance(<PyTypeObject*>cls)
    if raw == NULL:
        raise MemoryError()
    obj = <object>raw
    Py_DECREF(obj)
    for i in range(plan.n_steps):
        step = &plan.steps[i]
        if step.kind == K_FLAGS_:
            continue
        value = given[i]
        if value == NULL:
            if step.kind == K_TRUE_:
                value = Py_False_
            elif step.flag_index >= 0:
                value = Py_None_
            else:
                raise TypeError(
                    f"{(<object>cls).__name__}() missing required argument {<object>step.attr!r}"
                )
        Py_INCREF(<object>value)
        slot_at(obj, step.offset)[0] = value
    return obj


@cython.auto_pickle(False)
cdef class TLObject:
    """Base of every generated constructor class: fields in `__slots__`, built from its plan."""

    def __reduce__(self):
        # copy, deepcopy and pickle rebuild the object from its fields in order.
        cdef Plan plan = bound_plan(self)
        return type(self), tuple([getattr(self, attr) for attr in plan.attrs])

    def __init__(self, *args, **kwargs):
        cdef Plan plan = bound_plan(self)
        cdef Py_ssize_t i, index = 0, used = 0, n_args = len(args)
        cdef Step* step
        cdef PyObject* found
        if n_args > len(plan.attrs):
            raise TypeError(
                f"{type(self).__name__}() takes {len(plan.attrs)} positional arguments "
                f"but {n_args} were given"
            )
        for i in range(plan.n_steps):
            step = &plan.steps[i]
            if step.kind == K_FLAGS_:
                continue
            if index < n_args:
                value = args[index]
                if kwargs and PyDict_GetItem(kwargs, <object>step.attr) != NULL:
                    raise TypeError(
                        f"{type(self).__name__}() got multiple values for {<object>step.attr!r}"
                    )
            else:
                found = PyDict_GetItem(kwargs, <object>step.attr) if kwargs else NULL
                if found != NULL:
                    value = <object>found
                    used += 1
                elif step.kind == K_TRUE_:
                    value = False
                elif step.flag_index >= 0:
                    value = None
                else:
                    raise TypeError(
                        f"{type(self).__name__}() missing required argument {<object>step.attr!r}"
                    )
            store_slot(self, step.offset, value)
            index += 1
        if kwargs and used != len(kwargs):
            unknown = [k for k in kwargs if k not in plan.attrs]
            raise TypeError(
                f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}"
            )

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        cdef Plan plan = bound_plan(self)
        for attr in plan.attrs:
            if getattr(self, attr, None) != getattr(other, attr, None):
                return False
        return True

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __repr__(self):
        # The fields that carry something: flags that are false and optional fields that are
        # absent are left out (a user of the full layer has some 50 of them). The plan's own
        # tuple of fields: its `fields` list is one its readers may change.
        cdef Plan plan = bound_plan(self)
        parts = []
        for attr, spec, flag_index, mask, word_slot in plan.step_refs:
            if (<TypeSpec>spec).kind == K_FLAGS_:
                continue
            value = getattr(self, attr, None)
            if flag_index >= 0 and (value is None or value is False):
                continue
            parts.append(f"{attr}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def to_dict(self):
        """A plain dict of the fields, nested objects included; `_` holds the TL name."""
        return object_dict(self, 0)

    def __bytes__(self):
        return encode(self)

    @classmethod
    def from_bytes(cls, data):
        """Decode one boxed value that must be exactly this constructor."""
        cdef Plan plan = plan_of_type(<PyTypeObject*>cls)
        if plan is None:
            raise TypeError(f"{cls.__name__} is not bound to a TL schema")
        return plan.registry.decode(data, plan.exact_spec)


@cython.auto_pickle(False)
cdef class TLRequest(TLObject):
    """Base of generated function (RPC method) classes."""


cdef dict object_dict(object obj, int depth):
    cdef Plan plan = bound_plan(obj)
    out = {"_": plan.tl_name}
    for attr in plan.attrs:
        out[attr] = plain_value(getattr(obj, attr, None), plan, attr, depth + 1)
    return out


cdef object plain_value(object value, Plan plan, object attr, int depth):
    """Nested objects and lists walked with the encoder's depth bound: compiled calls do not
    count against the recursion limit, and an object that contains itself would otherwise
    recurse until the C stack runs out."""
    if not (isinstance(value, TLObject) or isinstance(value, list)):
        return value
    if depth > MAX_DEPTH_:
        raise field_error(plan, attr, f"nesting deeper than {MAX_DEPTH_}", ValueError)
    if isinstance(value, TLObject):
        return object_dict(value, depth)
    return [plain_value(item, plan, attr, depth + 1) for item in value]


# ----------------------------------------------------------------------------------------------
# Encoding

cdef struct Writer:
    PyObject* buffer       # NULL while the output fits `stack`; then a bytes object grown in place
    unsigned char* data    # where bytes go: `stack` or the buffer's storage
    Py_ssize_t length      # bytes written
    Py_ssize_t capacity    # bytes available at `data`
    Py_ssize_t zero_size_elements  # vector elements that take no bytes (see read_vector)
    PyObject* zero_size_plan       # borrowed: the plan and field of the last vector of them
    PyObject* zero_size_attr
    unsigned char stack[STACK_BUFFER]


cdef int writer_grow(Writer* w, Py_ssize_t need) except -1:
    cdef Py_ssize_t capacity = w.capacity * 2
    if capacity < w.length + need:
        capacity = w.length + need + 64
    if w.buffer == NULL:
        # Leaving the stack: a 1 MiB token is sized for here and copied in exactly once.
        buffer = PyBytes_FromStringAndSize(NULL, capacity)
        Py_INCREF(buffer)
        w.buffer = <PyObject*>buffer
        memcpy(PyBytes_AS_STRING(buffer), w.stack, w.length)
    else:
        _PyBytes_Resize(&w.buffer, capacity)
    w.data = <unsigned char*>PyBytes_AS_STRING(<object>w.buffer)
    w.capacity = capacity
    return 0


cdef inline int writer_reserve(Writer* w, Py_ssize_t need) except -1:
    if w.length + need > w.capacity:
        writer_grow(w, need)
    return 0


cdef inline int write_u32(Writer* w, uint32_t value) except -1:
    writer_reserve(w, 4)
    store_u32(w.data + w.length, value)
    w.length += 4
    return 0


cdef inline void writer_init(Writer* w) noexcept:
    w.buffer = NULL
    w.data = w.stack
    w.capacity = STACK_BUFFER
    w.length = 0
    w.zero_size_elements = 0


cdef object writer_finish(Writer* w):
    """The written bytes: one small copy off the stack, or the grown buffer trimmed in place."""
    if w.zero_size_elements > w.length:
        # The decoder allows one zero-size element per input byte; refuse what it would refuse.
        raise field_error(
            <Plan>w.zero_size_plan, <object>w.zero_size_attr,
            f"{w.zero_size_elements} vector elements that take no bytes in {w.length} bytes of "
            "output: a decoder accepts at most one per byte",
            ValueError,
        )
    if w.buffer == NULL:
        return PyBytes_FromStringAndSize(<char*>w.stack, w.length)
    _PyBytes_Resize(&w.buffer, w.length)
    result = <object>w.buffer
    Py_DECREF(result)
    w.buffer = NULL
    return result


@cython.binding(False)
def encode(obj):
    """Serialize a TL object to bytes (boxed: its id, then its fields)."""
    cdef Plan plan = plan_of_type(Py_TYPE(obj))
    cdef Writer w
    if plan is None:
        raise TypeError(f"cannot encode {type(obj).__name__}: not a TL object")
    writer_init(&w)
    try:
        write_object(&w, obj, plan, True, 0)
        return writer_finish(&w)
    finally:
        Py_XDECREF(w.buffer)


def encode_value(value, TypeSpec spec not None):
    """Serialize any value as `spec` says: a vector, a Bool, an int, a boxed object...

    What a server needs to answer functions whose result is not an object
    (`users.getUsers -> Vector<User>`); `encode` covers the common case of one object.
    """
    cdef Writer w
    spec = checked_spec(spec, spec)
    writer_init(&w)
    try:
        write_value(&w, value, spec, None, spec.name, 0)
        return writer_finish(&w)
    finally:
        Py_XDECREF(w.buffer)


cdef object field_error(Plan plan, object attr, str message, exc=TypeError):
    if plan is None:  # encode_value: `attr` is the TL type being written
        return exc(f"{attr}: {message}")
    return exc(f"{tl_name_of(plan)}.{attr}: {message}")


cdef inline bint same_family(Plan inner, Plan outer) noexcept:
    """Whether an object of `inner` may sit in a field of `outer`: both of one schema, or of
    schemas derived from one another (the same definitions, other classes)."""
    if inner.registry is None or outer.registry is None or inner.registry is outer.registry:
        return True
    return inner.registry.family is outer.registry.family


cdef inline bint is_present(Plan plan, Step* step, object value) except -1:
    if step.kind == K_TRUE_:
        if value is None or value is False:
            return False
        if value is True:
            return True
        raise field_error(plan, <object>step.attr, f"expected bool, got {type(value).__name__}")
    return value is not None


cdef inline object read_slot(object obj, Plan plan, Step* step):
    cdef PyObject* value = slot_at(obj, step.offset)[0]
    if value == NULL:
        raise field_error(plan, <object>step.attr, "field was never set", AttributeError)
    return <object>value


cdef int write_object(Writer* w, object obj, Plan plan, bint boxed, int depth) except -1:
    cdef uint32_t words[MAX_FLAG_WORDS]
    cdef uint32_t absent[MAX_FLAG_WORDS]
    cdef Py_ssize_t i
    cdef int k
    cdef Step* step
    if plan.n_flag_words:
        memset(words, 0, sizeof(words))
        memset(absent, 0, sizeof(absent))
        for i in range(plan.n_steps):
            step = &plan.steps[i]
            if step.flag_index < 0:
                continue
            if is_present(plan, step, read_slot(obj, plan, step)):
                words[step.flag_index] |= step.mask
            else:
                absent[step.flag_index] |= step.mask
        for k in range(plan.n_flag_words):
            if words[k] & absent[k]:
                raise_flag_conflict(obj, plan, k, words[k] & absent[k])
    if boxed:
        write_u32(w, plan.constructor_id)
    for i in range(plan.n_steps):
        step = &plan.steps[i]
        if step.kind == K_FLAGS_:
            write_u32(w, words[step.word_slot])
            continue
        if step.kind == K_TRUE_:
            continue
        value = read_slot(obj, plan, step)
        if step.flag_index >= 0:
            if not (words[step.flag_index] & step.mask):
                continue
        elif value is None:
            raise field_error(plan, <object>step.attr,
                              f"required {(<TypeSpec>step.spec).name} is None")
        write_value(w, value, <TypeSpec>step.spec, plan, <object>step.attr, depth + 1)
    return 0


cdef int raise_flag_conflict(object obj, Plan plan, int word, uint32_t conflict) except -1:
    cdef int bit = 0
    cdef Py_ssize_t i
    while not (conflict >> bit) & 1:
        bit += 1
    states = []
    for i in range(plan.n_steps):
        if plan.steps[i].flag_index == word and plan.steps[i].mask == (<uint32_t>1 << bit):
            present = is_present(plan, &plan.steps[i], read_slot(obj, plan, &plan.steps[i]))
            states.append(f"{<object>plan.steps[i].attr}={'set' if present else 'unset'}")
    raise ValueError(
        f"{tl_name_of(plan)}: fields sharing flag bit {bit} must be all set or all unset "
        f"({', '.join(states)})"
    )


cdef int write_value(Writer* w, object value, TypeSpec spec, Plan plan, object attr,
                     int depth) except -1:
    """`depth` counts as the decoder's does, so what is written here it reads back."""
    cdef int kind = spec.kind
    cdef int overflow = 0
    cdef long long number
    cdef double real
    cdef Py_ssize_t i, count, written, size
    cdef Plan inner
    if kind == K_INT_ or kind == K_LONG_:
        if not PyLong_Check(value) or PyBool_Check(value):
            raise field_error(plan, attr, f"expected int, got {type(value).__name__}")
        number = PyLong_AsLongLongAndOverflow(value, &overflow)
        if kind == K_INT_:
            if overflow or number < -2147483648LL or number > 2147483647LL:
                raise field_error(plan, attr, f"{int_text(value)} is out of range for int",
                                  ValueError)
            write_u32(w, <uint32_t><int32_t>number)
        else:
            if overflow:
                raise field_error(plan, attr, f"{int_text(value)} is out of range for long",
                                  ValueError)
            writer_reserve(w, 8)
            store_u64(w.data + w.length, <uint64_t>number)
            w.length += 8
    elif kind == K_BYTES_:
        write_blob(w, value, plan, attr)
    elif kind == K_STRING_:
        if not PyUnicode_Check(value):
            raise field_error(plan, attr, f"expected str, got {type(value).__name__}")
        try:
            data = PyUnicode_AsUTF8AndSize(value, &size)
        except UnicodeEncodeError:
            raise field_error(plan, attr, "string is not encodable as UTF-8", ValueError) from None
        write_raw_bytes(w, <const unsigned char*>data, size, plan, attr)
    elif kind == K_BOOL_:
        if value is True:
            write_u32(w, BOOL_TRUE_ID_)
        elif value is False:
            write_u32(w, BOOL_FALSE_ID_)
        else:
            raise field_error(plan, attr, f"expected bool, got {type(value).__name__}")
    elif kind == K_DOUBLE_:
        if PyFloat_Check(value):
            real = PyFloat_AS_DOUBLE(value)
        elif PyLong_Check(value) and not PyBool_Check(value):
            try:
                real = PyLong_AsDouble(value)
            except OverflowError:
                raise field_error(plan, attr, f"{int_text(value)} is out of range for double",
                                  ValueError) from None
        else:
            raise field_error(plan, attr, f"expected float, got {type(value).__name__}")
        writer_reserve(w, 8)
        PyFloat_Pack8(real, <char*>(w.data + w.length), 1)
        w.length += 8
    elif kind == K_INT128_ or kind == K_INT256_:
        size = 16 if kind == K_INT128_ else 32
        write_fixed(w, value, size, plan, attr)
    elif depth > MAX_DEPTH_:
        raise field_error(plan, attr, f"nesting deeper than {MAX_DEPTH_}", ValueError)
    elif kind == K_VECTOR_ or kind == K_BARE_VECTOR_:
        if not (PyList_CheckExact(value) or PyTuple_Check(value) or isinstance(value, list)):
            raise field_error(plan, attr, f"expected list, got {type(value).__name__}")
        count = len(value)
        if count > 2147483647:
            raise field_error(plan, attr, "vector too long", ValueError)
        if kind == K_VECTOR_:
            write_u32(w, VECTOR_ID_)
        write_u32(w, <uint32_t>count)
        if spec.elem.min_size() == 0:
            w.zero_size_elements += count
            w.zero_size_plan = <PyObject*>plan
            w.zero_size_attr = <PyObject*>attr
        # The count is written first, from len(): a list whose iteration disagrees (a subclass,
        # or one changed while its items are encoded) must not leave a wrong count behind.
        written = 0
        for item in value:
            if written == count:
                raise field_error(plan, attr, f"the list yields more items than its len() of {count}",
                                  ValueError)
            if item is None:
                raise field_error(plan, attr, "None inside a vector")
            write_value(w, item, spec.elem, plan, attr, depth + 1)
            written += 1
        if written != count:
            raise field_error(plan, attr, f"the list yields {written} items, its len() says {count}",
                              ValueError)
    elif kind == K_BOXED_ or kind == K_QUERY_ or kind == K_BARE_:
        inner = plan_of_type(Py_TYPE(value))
        if inner is None:
            raise field_error(plan, attr, f"expected {spec.name}, got {type(value).__name__}")
        if plan is not None and not same_family(inner, plan):
            raise field_error(plan, attr, f"{type(value).__name__} is of {inner.registry.name}, "
                                          f"not of {plan.registry.name}")
        if kind == K_QUERY_:
            if not inner.is_function:
                raise field_error(plan, attr,
                                  f"expected a function call, got {type(value).__name__}")
        elif kind == K_BARE_:
            if inner is not spec.plan:
                raise field_error(plan, attr, f"expected {spec.name}, got {type(value).__name__}")
        elif spec.type_id >= 0 and (inner.type_id != spec.type_id or inner.is_function):
            raise field_error(plan, attr, f"expected {spec.name}, got {type(value).__name__}")
        write_object(w, value, inner, kind != K_BARE_, depth)
    else:
        raise AssertionError(f"unknown kind {kind}")
    return 0


cdef int write_blob(Writer* w, object value, Plan plan, object attr) except -1:
    """A `bytes` field: bytes, bytearray or memoryview, copied once into the output."""
    cdef Py_buffer view
    if PyBytes_CheckExact(value):
        return write_raw_bytes(w, <const unsigned char*>PyBytes_AS_STRING(value),
                               PyBytes_GET_SIZE(value), plan, attr)
    if PyByteArray_Check(value):
        return write_raw_bytes(w, <const unsigned char*>PyByteArray_AS_STRING(value),
                               PyByteArray_GET_SIZE(value), plan, attr)
    value = byte_buffer(value, plan, attr, "bytes")
    PyObject_GetBuffer(value, &view, PyBUF_SIMPLE)
    try:
        write_raw_bytes(w, <const unsigned char*>view.buf, view.len, plan, attr)
    finally:
        PyBuffer_Release(&view)
    return 0


cdef object byte_buffer(object value, Plan plan, object attr, str expected):
    """`value` as an object with one contiguous run of bytes, or the field's TypeError.

    A memoryview must be one-dimensional bytes (format 'B'), the only kind that compares equal
    to the bytes the decoder gives back; a strided one is copied."""
    if isinstance(value, (bytes, bytearray)):
        return value
    if not PyMemoryView_Check(value):
        raise field_error(plan, attr, f"expected {expected}, got {type(value).__name__}")
    try:
        layout = (value.format, value.ndim, value.c_contiguous)
    except ValueError:  # released
        raise field_error(plan, attr, "the memoryview is released", ValueError) from None
    if layout[0] != "B" or layout[1] != 1:
        raise field_error(
            plan, attr,
            f"expected {expected}, got a memoryview of format {layout[0]!r} in {layout[1]} dimensions",
        )
    return value if layout[2] else value.tobytes()


cdef int write_fixed(Writer* w, object value, Py_ssize_t size, Plan plan, object attr) except -1:
    """int128/int256: exactly `size` raw bytes, no length prefix."""
    cdef Py_buffer view
    value = byte_buffer(value, plan, attr, f"{size} bytes")
    PyObject_GetBuffer(value, &view, PyBUF_SIMPLE)
    try:
        if view.len != size:
            raise field_error(plan, attr, f"expected {size} bytes, got {view.len}", ValueError)
        writer_reserve(w, size)
        memcpy(w.data + w.length, view.buf, size)
        w.length += size
    finally:
        PyBuffer_Release(&view)
    return 0


cdef str int_text(object value):
    """An int for an error message; a huge one by its size (str() of it may itself refuse)."""
    if value.bit_length() <= 256:
        return str(int(value))
    return f"an int of {value.bit_length()} bits"


cdef int write_raw_bytes(Writer* w, const unsigned char* data, Py_ssize_t length, Plan plan,
                         object attr) except -1:
    cdef Py_ssize_t header, padding
    if length <= 253:
        header = 1
    elif length <= MAX_BYTES_LENGTH:
        header = 4
    else:
        raise field_error(
            plan, attr, f"{length} bytes do not fit a TL length prefix (max 2**24 - 1)", ValueError
        )
    padding = -(header + length) & 3
    writer_reserve(w, header + length + padding)
    if header == 1:
        w.data[w.length] = <unsigned char>length
    else:
        store_u32(w.data + w.length, 254 | (<uint32_t>length << 8))
    memcpy(w.data + w.length + header, data, length)
    w.length += header + length
    memset(w.data + w.length, 0, padding)
    w.length += padding
    return 0


# ----------------------------------------------------------------------------------------------
# Decoding

cdef struct Budget:
    # What one decode call (one Reader) may still spend, shared by the cursors of the
    # gzip_packed bodies inside it: the work and memory a decode costs stay proportional to
    # its input plus max_inflated, however the input nests.
    Py_ssize_t max_inflated    # as given, for error messages
    Py_ssize_t inflate_left    # gzip_packed bytes that may still be inflated
    Py_ssize_t zero_size_left  # vector elements that take no bytes: one per input byte


cdef struct Cursor:
    const unsigned char* buf   # the input
    Py_ssize_t pos             # the next byte to read
    Py_ssize_t end             # one past the last byte
    PyObject* registry         # borrowed Registry: ids are looked up here
    Budget* budget


cdef inline void budget_init(Budget* budget, Py_ssize_t max_inflated, Py_ssize_t input_length) noexcept:
    budget.max_inflated = max_inflated
    budget.inflate_left = max_inflated
    budget.zero_size_left = input_length


cdef inline int need(Cursor* c, Py_ssize_t n, str what) except -1:
    if c.end - c.pos < n:
        raise DecodeError(f"truncated: {what} needs {n} bytes, {c.end - c.pos} left", c.pos)
    return 0


cdef inline uint32_t take_u32(Cursor* c, str what) except? 0xFFFFFFFF:
    need(c, 4, what)
    c.pos += 4
    return load_u32(c.buf + c.pos - 4)


cdef Py_ssize_t take_blob(Cursor* c, Py_ssize_t* length) except -1:
    """Checks a bytes/string at pos, advances past it, and returns where its content starts."""
    cdef Py_ssize_t start = c.pos, header, total
    cdef unsigned char first
    need(c, 1, "bytes length")
    first = c.buf[start]
    if first <= 253:
        length[0] = first
        header = 1
    elif first == 254:
        need(c, 4, "bytes length")
        length[0] = load_u32(c.buf + start) >> 8
        header = 4
        if length[0] < 254:
            raise DecodeError(
                f"long-form bytes length {length[0]} is below 254 (must use the short form)", start
            )
    else:
        raise DecodeError("bytes length byte 0xff is not defined by TL", start)
    total = header + length[0]
    total += -total & 3
    if c.end - start < total:
        raise DecodeError(
            f"truncated: bytes of length {length[0]} need {total} bytes, {c.end - start} left",
            start,
        )
    c.pos = start + total
    return start + header


cdef object take_string(Cursor* c):
    cdef Py_ssize_t start = c.pos, content, length
    content = take_blob(c, &length)
    try:
        return PyUnicode_DecodeUTF8(<const char*>(c.buf + content), length, "strict")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"string is not valid UTF-8 ({exc.reason})", start) from None


cdef object take_bool(Cursor* c):
    cdef uint32_t constructor_id = take_u32(c, "Bool")
    if constructor_id == BOOL_TRUE_ID_:
        return True
    if constructor_id == BOOL_FALSE_ID_:
        return False
    raise DecodeError(f"expected Bool, got id {constructor_id:#010x}", c.pos - 4)


cdef object read_value(Cursor* c, TypeSpec spec, int depth):
    cdef int kind = spec.kind
    cdef Py_ssize_t length, start
    if kind == K_INT_:
        return PyLong_FromLong(<int32_t>take_u32(c, "int"))
    if kind == K_LONG_:
        need(c, 8, "long")
        c.pos += 8
        return PyLong_FromLongLong(<int64_t>load_u64(c.buf + c.pos - 8))
    if kind == K_BYTES_:
        start = take_blob(c, &length)
        return PyBytes_FromStringAndSize(<const char*>(c.buf + start), length)
    if kind == K_STRING_:
        return take_string(c)
    if kind == K_BOOL_:
        return take_bool(c)
    if kind == K_DOUBLE_:
        need(c, 8, "double")
        c.pos += 8
        return PyFloat_FromDouble(PyFloat_Unpack8(<const char*>(c.buf + c.pos - 8), 1))
    if kind == K_INT128_ or kind == K_INT256_:
        length = 16 if kind == K_INT128_ else 32
        need(c, length, spec.name)
        c.pos += length
        return PyBytes_FromStringAndSize(<const char*>(c.buf + c.pos - length), length)
    if depth > MAX_DEPTH_:
        raise DecodeError(f"nesting deeper than {MAX_DEPTH_}", c.pos)
    if kind == K_BOXED_ or kind == K_QUERY_:
        return read_boxed(c, spec, depth)
    if kind == K_VECTOR_ or kind == K_BARE_VECTOR_:
        return read_vector(c, spec, depth)
    if kind == K_BARE_:
        return read_fields(c, spec.plan, depth)
    raise AssertionError(f"unknown kind {kind}")


cdef object read_vector(Cursor* c, TypeSpec spec, int depth):
    cdef Py_ssize_t start = c.pos, count_at, i
    cdef uint32_t constructor_id
    cdef int32_t count
    cdef Py_ssize_t min_size = spec.elem.min_size()
    cdef Budget* budget = c.budget
    if spec.kind == K_VECTOR_:
        constructor_id = take_u32(c, spec.name)
        if constructor_id != VECTOR_ID_:
            raise DecodeError(
                f"expected {spec.name} (id 0x1cb5c415), got id {constructor_id:#010x}", start
            )
    count_at = c.pos
    count = <int32_t>take_u32(c, "vector count")
    # Checked before the list is allocated: a hostile count must not reserve memory.
    if count < 0 or count * min_size > c.end - c.pos:
        raise DecodeError(
            f"vector count {count} cannot fit in the {c.end - c.pos} bytes left", count_at
        )
    if min_size == 0:
        # Elements that take no bytes (a bare constructor without fields) are not bounded by
        # the bytes left, and nested vectors of them would multiply: they spend the budget.
        if count > budget.zero_size_left:
            raise DecodeError(
                f"vector of {count} {spec.elem.name} elements, which take no bytes, exceeds "
                f"the {budget.zero_size_left} this input may still hold (one per byte)",
                count_at,
            )
        budget.zero_size_left -= count
    result = PyList_New(count)
    for i in range(count):
        item = read_value(c, spec.elem, depth + 1)
        Py_INCREF(item)
        PyList_SET_ITEM(result, i, item)
    return result


cdef object read_boxed(Cursor* c, TypeSpec spec, int depth):
    cdef Py_ssize_t start = c.pos
    cdef uint32_t constructor_id
    cdef Registry registry = <Registry>c.registry
    if c.end - c.pos < 4:
        raise DecodeError(
            f"truncated: the constructor id of {spec.name} needs 4 bytes, {c.end - c.pos} left",
            c.pos,
        )
    constructor_id = load_u32(c.buf + c.pos)
    c.pos += 4
    cdef PyObject* found
    cdef Plan plan
    if constructor_id == GZIP_PACKED_ID_ and (
        spec.plan is None or spec.plan.constructor_id != GZIP_PACKED_ID_
    ):
        return read_gzip_rarely(c, spec, depth, start)
    found = registry.lookup(constructor_id)
    if found == NULL:
        plan = registry.load(constructor_id)
        if plan is None:
            raise DecodeError(
                f"unknown constructor id {constructor_id:#010x} where {spec.name} was expected",
                start,
            )
    else:
        plan = <Plan>found
    if spec.kind == K_QUERY_:
        if not plan.is_function:
            raise DecodeError(
                f"expected a function call, got {plan.tl_name}#{constructor_id:08x}", start
            )
    elif spec.plan is not None:
        if plan is not spec.plan:
            raise DecodeError(f"expected {spec.name}, got {plan.tl_name}#{constructor_id:08x}", start)
    elif spec.type_id >= 0 and (plan.type_id != spec.type_id or plan.is_function):
        raise DecodeError(
            f"expected {spec.name}, got {plan.tl_name}#{constructor_id:08x} of type "
            f"{registry.type_name(plan.type_id)}",
            start,
        )
    return read_fields(c, plan, depth)


ctypedef object (*GzipReader)(Cursor* c, TypeSpec spec, int depth, Py_ssize_t start)


cpdef bytes inflate_gzip(object packed, Py_ssize_t left, object limit, str scope="decode",
                         Py_ssize_t at=0):
    """What a gzip_packed body's stream inflates to, at most `left` bytes: what is left of the
    `limit` that one `scope` ("decode", "received message") may inflate. DecodeError at offset
    `at` for a stream that is not gzip, is truncated or has bytes after it; InflateLimitError
    for one that inflates past `left`, refused before that memory is spent (zlib grows its
    output in steps up to the cap, so past it it stops one byte over)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(packed, left + 1 if left < PY_SSIZE_T_MAX else left)
    except zlib.error as exc:
        raise DecodeError(f"gzip_packed body is not valid gzip ({exc})", at) from None
    if PyBytes_GET_SIZE(inflated) > left:
        raise InflateLimitError(
            f"gzip_packed bodies inflate past the limit of {limit} bytes for one {scope} "
            f"({left} bytes of that budget were left)", at)
    if not inflater.eof:
        raise DecodeError("gzip_packed body is a truncated gzip stream", at)
    if inflater.unused_data:
        raise DecodeError(
            f"gzip_packed body has {len(inflater.unused_data)} bytes after its gzip stream", at)
    return inflated


cdef object read_gzip(Cursor* c, TypeSpec spec, int depth, Py_ssize_t start):
    cdef Py_ssize_t content, length, inflate_left = c.budget.inflate_left
    cdef Cursor inner
    cdef bytes inflated
    content = take_blob(c, &length)
    packed = PyMemoryView_FromMemory(<char*>(c.buf + content), length, PyBUF_READ)
    try:
        inflated = inflate_gzip(packed, inflate_left, c.budget.max_inflated, "decode", start)
    finally:
        packed.release()
    c.budget.inflate_left -= PyBytes_GET_SIZE(inflated)
    c.budget.zero_size_left += PyBytes_GET_SIZE(inflated)
    inner.buf = <const unsigned char*>PyBytes_AS_STRING(inflated)
    inner.pos = 0
    inner.end = PyBytes_GET_SIZE(inflated)
    inner.registry = c.registry
    inner.budget = c.budget
    try:
        value = read_value(&inner, spec, depth + 1)
    except DecodeError as exc:
        raise DecodeError(f"inside gzip_packed: {exc}", start) from None
    if inner.pos != inner.end:
        raise DecodeError(
            f"gzip_packed body has {inner.end - inner.pos} trailing bytes after {spec.name}", start
        )
    return value


# The gzip path is called through a pointer so that the compiler does not inline it into
# read_boxed: with it inside, read_boxed grows too big to be inlined into read_value, which costs
# every boxed object a call.
cdef GzipReader read_gzip_rarely = read_gzip


cdef object read_fields(Cursor* c, Plan plan, int depth):
    cdef PyObject* raw
    cdef uint32_t words[MAX_FLAG_WORDS]
    cdef Py_ssize_t i
    cdef Step* step
    if plan.cls is None:
        if plan.factory is not None:
            plan.factory(plan)
        if plan.cls is None:
            raise TypeError(f"{plan.tl_name} is not bound to a class")
    # The instance is allocated without running __init__; its slots start as NULL and are
    # filled below (a failure part-way frees it, and NULL slots are skipped on dealloc).
    raw = tl_alloc_instance(<PyTypeObject*>plan.cls)
    if raw == NULL:
        raise MemoryError()
    obj = <object>raw
    Py_DECREF(obj)
    for i in range(plan.n_steps):
        step = &plan.steps[i]
        if step.kind == K_FLAGS_:
            words[step.word_slot] = take_u32(c, "flags")
            continue
        if step.flag_index >= 0 and not (words[step.flag_index] & step.mask):
            value = False if step.kind == K_TRUE_ else None
        elif step.kind == K_TRUE_:
            value = True
        else:
            value = read_value(c, <TypeSpec>step.spec, depth + 1)
        Py_INCREF(value)
        slot_at(obj, step.offset)[0] = <PyObject*>value
    return obj


cdef object decode_buffer(data, Registry registry, TypeSpec spec, bint allow_trailing,
                          Py_ssize_t max_inflated):
    """One whole value from `data`, read in place (bytes directly, other buffers exported)."""
    cdef Cursor c
    cdef Budget budget
    cdef Py_buffer view
    c.registry = <PyObject*>registry
    c.budget = &budget
    c.pos = 0
    if PyBytes_CheckExact(data):
        c.buf = <const unsigned char*>PyBytes_AS_STRING(data)
        c.end = PyBytes_GET_SIZE(data)
        budget_init(&budget, max_inflated, c.end)
        return finish_decode(&c, spec, allow_trailing)
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        c.buf = <const unsigned char*>view.buf
        c.end = view.len
        budget_init(&budget, max_inflated, c.end)
        return finish_decode(&c, spec, allow_trailing)
    finally:
        PyBuffer_Release(&view)


cdef object finish_decode(Cursor* c, TypeSpec spec, bint allow_trailing):
    value = read_value(c, spec, 0)
    if not allow_trailing and c.pos != c.end:
        raise DecodeError(
            f"{c.end - c.pos} trailing bytes after a complete {spec.name}", c.pos
        )
    return value


cdef class Reader:
    """Reads TL values one after another from a buffer; every read checks the bytes left.

    A read that fails leaves the reader where that read began (position and budget), so a
    caller can report the error, or try again over a longer buffer, from there."""

    cdef object owner                   # keeps the input alive
    cdef Py_buffer view                 # the exported buffer when the input is not bytes
    cdef bint has_view
    cdef Registry registry
    cdef Cursor c
    cdef Budget budget                  # one for the reader's whole input

    def __cinit__(self):
        self.has_view = False

    def __init__(self, data, Registry registry not None, max_inflated=DEFAULT_MAX_INFLATED):
        cdef Py_ssize_t limit = inflate_limit(max_inflated)
        if self.owner is not None:
            raise RuntimeError("Reader is already open")
        registry.check_open()
        if PyBytes_CheckExact(data):
            self.c.buf = <const unsigned char*>PyBytes_AS_STRING(data)
            self.c.end = PyBytes_GET_SIZE(data)
        else:
            PyObject_GetBuffer(data, &self.view, PyBUF_SIMPLE)
            self.has_view = True
            self.c.buf = <const unsigned char*>self.view.buf
            self.c.end = self.view.len
        self.owner = data
        self.registry = registry
        self.c.pos = 0
        self.c.registry = <PyObject*>registry
        self.c.budget = &self.budget
        budget_init(&self.budget, limit, self.c.end)

    def __dealloc__(self):
        if self.has_view:
            PyBuffer_Release(&self.view)

    cdef inline Cursor* cursor(self) except NULL:
        if self.owner is None:
            raise RuntimeError("Reader is not open (made without calling __init__)")
        return &self.c

    @property
    def position(self):
        """The offset of the next byte to read."""
        return self.c.pos

    @property
    def remaining(self):
        """How many bytes are left."""
        return self.c.end - self.c.pos

    def read_int(self):
        return <int32_t>take_u32(self.cursor(), "int")

    def read_uint(self):
        return take_u32(self.cursor(), "#")

    def read_long(self):
        cdef Cursor* c = self.cursor()
        need(c, 8, "long")
        c.pos += 8
        return <int64_t>load_u64(c.buf + c.pos - 8)

    def read_double(self):
        cdef Cursor* c = self.cursor()
        need(c, 8, "double")
        c.pos += 8
        return PyFloat_Unpack8(<const char*>(c.buf + c.pos - 8), 1)

    def read_raw(self, Py_ssize_t n):
        cdef Cursor* c = self.cursor()
        if n < 0:
            raise ValueError("n must not be negative")
        need(c, n, f"{n} raw bytes")
        c.pos += n
        return PyBytes_FromStringAndSize(<const char*>(c.buf + c.pos - n), n)

    def read_bytes(self):
        cdef Py_ssize_t start, length
        cdef Cursor* c = self.cursor()
        start = take_blob(c, &length)
        return PyBytes_FromStringAndSize(<const char*>(c.buf + start), length)

    def read_string(self):
        cdef Cursor* c = self.cursor()
        cdef Py_ssize_t start = c.pos
        try:
            return take_string(c)
        except BaseException:
            c.pos = start
            raise

    def read_bool(self):
        cdef Cursor* c = self.cursor()
        cdef Py_ssize_t start = c.pos
        try:
            return take_bool(c)
        except BaseException:
            c.pos = start
            raise

    def read_object(self, expected=None):
        """Read one boxed value; `expected` narrows which constructors are accepted."""
        self.cursor()
        return self.read_spec(self.registry.to_spec(expected), 0)

    def read(self, TypeSpec spec not None, int depth=0):
        self.cursor()
        if depth < 0 or depth > MAX_DEPTH_:
            raise ValueError(f"depth must be between 0 and {MAX_DEPTH_}, got {depth}")
        return self.read_spec(checked_spec(spec, spec), depth)

    cdef object read_spec(self, TypeSpec spec, int depth):
        cdef Py_ssize_t start = self.c.pos
        cdef Budget before = self.budget
        try:
            return read_value(&self.c, spec, depth)
        except BaseException:
            self.c.pos = start
            self.budget = before  # what the failed read spent is refunded
            raise
