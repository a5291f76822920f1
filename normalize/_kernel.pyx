# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled text kernel: the same behaviour as normalize/kernel.py (the reference), in C.

Every function and class here has a twin of the same name there, and tests/test_kernel.py
checks that both give the same results. Read kernel.py for what each does; the comments here
say how. Characters are read from the str's own buffer (1, 2 or 4 bytes a character), and
classified with the same CPython functions that str.isalnum, str.isspace... use, so the two
kernels agree on every character.
"""

from cpython.unicode cimport (
    Py_UNICODE_ISALNUM,
    Py_UNICODE_ISDECIMAL,
    Py_UNICODE_ISLOWER,
    Py_UNICODE_ISSPACE,
    Py_UNICODE_ISUPPER,
    PyUnicode_DATA,
    PyUnicode_GET_LENGTH,
    PyUnicode_KIND,
    PyUnicode_READ,
    PyUnicode_READ_CHAR,
    PyUnicode_Substring,
)
from cpython.version cimport PY_VERSION_HEX
from libc.math cimport exp, isnan, log1p
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memcpy, memset

cimport cython

import struct
import sys

import numpy as np

#: a packed entry of a langdetect profile row: language index, probability
_ENTRY_HD = struct.Struct("<Hd")

cdef extern from "Python.h":
    bint Py_UNICODE_ISLINEBREAK(Py_UCS4 ch)

cdef extern from *:
    """
    #include <stdlib.h>
    #if defined(__linux__)
    #include <sys/mman.h>
    #endif
    /* A large table in huge pages where the system offers them (fewer TLB misses on lookups
       spread over megabytes); else plain malloc. Freed with free(). */
    static void* normalize_big_alloc(size_t n) {
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (n >= ((size_t)1 << 20)) {
            void* p = NULL;
            size_t huge = (size_t)2 << 20;
            size_t size = (n + huge - 1) / huge * huge;
            if (posix_memalign(&p, huge, size) != 0) return NULL;
            madvise(p, size, MADV_HUGEPAGE);
            return p;
        }
    #endif
        return malloc(n);
    }
    """
    void* normalize_big_alloc(size_t n) noexcept nogil

cdef extern from *:
    """
    /* A hint that memory will be read soon (no effect on results; nothing where unsupported). */
    #if defined(__GNUC__) || defined(__clang__)
    #define normalize_prefetch(p) __builtin_prefetch((const void*)(p))
    #else
    #define normalize_prefetch(p) ((void)(p))
    #endif
    """
    void normalize_prefetch(const void* p) noexcept nogil

# -- token bits: the same values as normalize/kernel.py --------------------------------------------
cdef enum:
    WORD = 1 << 0
    NUMBER = 1 << 1
    UPPER = 1 << 2
    LONG = 1 << 3
    KEPT = 1 << 4
    UNKNOWN = 1 << 5
    RARE = 1 << 6
    LOWER0 = 1 << 7
    UPPER_REST = 1 << 8
    PLAIN = 1 << 9
    FUNCTION = 1 << 10
    MIDCAP = 1 << 11
    SUBORDINATOR = 1 << 12
    NO_SUBJECT = 1 << 13
    TO = 1 << 14
    DOUBLE_OK = 1 << 15
    FOREIGN = 1 << 16
    OPENER = 1 << 17
    CLAUSE = 1 << 18
    AZ_FIRST = 1 << 19
    AZ_LAST = 1 << 20

BITS = {"WORD": WORD, "NUMBER": NUMBER, "UPPER": UPPER, "LONG": LONG, "KEPT": KEPT, "UNKNOWN": UNKNOWN,
        "RARE": RARE, "LOWER0": LOWER0, "UPPER_REST": UPPER_REST, "PLAIN": PLAIN, "FUNCTION": FUNCTION,
        "MIDCAP": MIDCAP, "SUBORDINATOR": SUBORDINATOR, "NO_SUBJECT": NO_SUBJECT, "TO": TO,
        "DOUBLE_OK": DOUBLE_OK, "FOREIGN": FOREIGN, "OPENER": OPENER, "CLAUSE": CLAUSE,
        "AZ_FIRST": AZ_FIRST, "AZ_LAST": AZ_LAST}

FEATURES = ("log_words", "known_share", "non_latin", "foreign_letters", "foreign",
            "oov_share", "oov_any", "cap_unknown_share", "rare_share",
            "fragment", "repetition", "unbalanced", "lowercase_start", "midsentence_capital",
            "lm_logprob", "lm_gain", "lm_low_share", "mt_logprob", "mt_gain", "mt_style")
INFO = ("tok_lo", "tok_hi", "words", "fragment", "doubled", "phrase_at", "phrase_size", "mark",
        "lower_start", "midcap", "n_ids", "gain_at", "style_at", "gate", "possessives",
        "gain_lo", "gain_hi", "style_lo", "style_hi", "fires", "n_oov")
DEF NF = 20
DEF WBUF = 256  # ASCII words up to this long are described in C, longer ones by Python
DEF NI = 21

# -- characters --------------------------------------------------------------------------------------
# A str's characters are 1, 2 or 4 bytes each (PEP 393); every function that reads them is
# compiled once per width (a fused type), the entry points pick by the str's kind.
ctypedef fused chr_t:
    uint8_t
    uint16_t
    uint32_t

cdef uint8_t CLS[256]  # the classes of the characters below 256 (Latin-1), from str's own methods
cdef enum:
    C_SPACE = 1  # str.isspace
    C_LETTER = 2  # str.isalnum and not str.isdecimal (a word character of the tokenizer)
    C_DIGIT = 4  # str.isdecimal
    C_BREAK = 8  # ends a line (str.splitlines)
    C_ENDER = 16  # . ! ?
    C_MARK = 32  # a quote or bracket (kernel.unmatched_marks)
    C_UPPER = 64  # str.isupper
    C_LOWER = 128  # str.islower

for _c in range(256):
    _ch = chr(_c)
    CLS[_c] = ((C_SPACE if _ch.isspace() else 0) | (C_LETTER if _ch.isalnum() and not _ch.isdecimal() else 0)
               | (C_DIGIT if _ch.isdecimal() else 0) | (C_BREAK if len(("a" + _ch + "a").splitlines()) > 1 else 0)
               | (C_ENDER if _ch in ".!?" else 0) | (C_MARK if _ch in '()[]{}"«»' else 0)
               | (C_UPPER if _ch.isupper() else 0) | (C_LOWER if _ch.islower() else 0))
cdef uint8_t* ASCII = CLS  # (the first 128 entries)


cdef inline bint is_break(uint32_t c) noexcept:
    if c < 256:
        return CLS[c] & C_BREAK
    return Py_UNICODE_ISLINEBREAK(c)


cdef inline uint32_t rd(int kind, void* data, Py_ssize_t i) noexcept:
    return <uint32_t>PyUnicode_READ(kind, data, i)


cdef inline bint is_space(uint32_t c) noexcept:
    if c < 256:
        return CLS[c] & C_SPACE
    return Py_UNICODE_ISSPACE(c)


cdef inline bint is_decimal(uint32_t c) noexcept:
    if c < 256:
        return CLS[c] & C_DIGIT
    return Py_UNICODE_ISDECIMAL(c)


cdef inline bint is_alnum(uint32_t c) noexcept:
    if c < 256:
        return CLS[c] & (C_LETTER | C_DIGIT)
    return Py_UNICODE_ISALNUM(c)


cdef inline bint is_letter(uint32_t c) noexcept:
    if c < 256:
        return CLS[c] & C_LETTER
    return Py_UNICODE_ISALNUM(c) and not Py_UNICODE_ISDECIMAL(c)


cdef inline bint is_upper(uint32_t c) noexcept:
    if c < 256:
        return CLS[c] & C_UPPER
    return Py_UNICODE_ISUPPER(c)


cdef inline uint32_t pair_bit(uint32_t a, uint32_t b) noexcept:
    """A 16-bit hash of two characters (the bitmaps of string beginnings)."""
    return <uint32_t>((a * 0x9E3779B1u) ^ (b * 0x85EBCA77u)) >> 16


cdef inline uint64_t mix(uint64_t h) noexcept:
    h ^= h >> 33
    h *= 0xff51afd7ed558ccdULL
    h ^= h >> 33
    return h


# -- growable buffers ---------------------------------------------------------------------------------
cdef struct IBuf:
    int32_t* p
    Py_ssize_t n
    Py_ssize_t cap


cdef int ibuf_reserve(IBuf* b, Py_ssize_t more) except -1:
    cdef Py_ssize_t cap
    cdef int32_t* p
    if b.n + more <= b.cap:
        return 0
    cap = b.cap * 2 if b.cap else 64
    while cap < b.n + more:
        cap *= 2
    p = <int32_t*>realloc(b.p, cap * sizeof(int32_t))
    if p == NULL:
        raise MemoryError()
    b.p = p
    b.cap = cap
    return 0


cdef inline int ibuf_push(IBuf* b, int32_t v) except -1:
    if b.n == b.cap:
        ibuf_reserve(b, 1)
    b.p[b.n] = v
    b.n += 1
    return 0


cdef inline void ibuf_free(IBuf* b) noexcept:
    free(b.p)
    b.p = NULL
    b.n = b.cap = 0


cdef struct SList:  # strings as code points, one after the other: string i is chars[off[i]:off[i + 1]]
    IBuf chars
    IBuf off


cdef int slist_add(SList* sl, str x) except -1:
    if sl.off.n == 0:
        ibuf_push(&sl.off, 0)
    for c in x:
        ibuf_push(&sl.chars, <int32_t>ord(c))
    ibuf_push(&sl.off, <int32_t>sl.chars.n)
    return 0


cdef inline Py_ssize_t slist_len(SList* sl) noexcept:
    return sl.off.n - 1 if sl.off.n else 0


cdef inline void slist_free(SList* sl) noexcept:
    ibuf_free(&sl.chars)
    ibuf_free(&sl.off)


cdef inline bint slist_ends(SList* sl, Py_ssize_t i, const uint32_t* w, Py_ssize_t n) noexcept:
    """Whether w[:n] ends with string i."""
    cdef Py_ssize_t a = sl.off.p[i], m = sl.off.p[i + 1] - a, k
    if m > n:
        return False
    for k in range(m):
        if w[n - m + k] != <uint32_t>sl.chars.p[a + k]:
            return False
    return True


cdef inline bint slist_starts(SList* sl, Py_ssize_t i, const uint32_t* w, Py_ssize_t n) noexcept:
    """Whether w[:n] begins with string i."""
    cdef Py_ssize_t a = sl.off.p[i], m = sl.off.p[i + 1] - a, k
    if m > n:
        return False
    for k in range(m):
        if w[k] != <uint32_t>sl.chars.p[a + k]:
            return False
    return True


# -- a hash table of strings (code point sequences) ---------------------------------------------------
cdef struct Key:
    uint64_t h  # the hash of the code points
    uint64_t packed  # up to 8 code points below 256, a byte each (when short)
    uint32_t tag  # what a slot keeps of the hash (bits 32-59) and the key's length code (top 4 bits)
    bint short  # the key is packed whole


DEF LONG_CODE = 15  # the length code of a key kept in the arena (a short key's is its length, 0 to 8)
DEF OFFSET_BITS = 40  # a long key's slot: its offset in the arena (40 bits), its length above
DEF OFFSET_MASK = (1 << OFFSET_BITS) - 1


cdef inline void key_of(const chr_t* d, Py_ssize_t s, Py_ssize_t e, Key* k) noexcept:
    """Hash and, for a short key, pack the code points of data[s:e] (one pass)."""
    cdef uint64_t h = 1469598103934665603ULL, packed = 0
    cdef bint short = e - s <= 8
    cdef Py_ssize_t i
    cdef uint32_t c
    for i in range(s, e):
        c = d[i]
        h = (h ^ c) * 1099511628211ULL
        if c >= 256:
            short = False
        packed = (packed << 8) | (c & 0xFF)
    k.h = mix(h ^ <uint64_t>(e - s))
    k.packed = packed if short else 0
    k.short = short
    k.tag = <uint32_t>((k.h >> 32) & 0x0FFFFFFF) | (<uint32_t>((e - s) if short else LONG_CODE) << 28)


cdef struct Slot:  # 16 bytes: four to a cache line
    uint64_t key  # a short key itself (packed), else its offset in the arena and its length
    uint32_t tag  # Key.tag
    int32_t value  # -1: empty


@cython.final
cdef class StrMap:
    """str -> int (>= 0): looked up by a slice of any str without making the slice (sm_find,
    sm_add). A short key (8 code points or fewer, each below 256) lives in its slot; a longer
    one in an arena. Read like a mapping (``get``, ``in``, ``[]``, ``len``, ``items``); the
    order of ``items`` is the table's, not the insertion order."""

    cdef Slot* slots
    cdef Py_ssize_t cap
    cdef Py_ssize_t count
    cdef uint32_t* arena
    cdef Py_ssize_t arena_n, arena_cap
    cdef Py_ssize_t marked, marked_arena  # what mark() saw: keys, code points of the arena

    def __cinit__(self):
        self.slots = NULL
        self.arena = NULL
        self.cap = self.count = self.arena_n = self.arena_cap = self.marked = self.marked_arena = 0
        self._alloc(16)

    def __dealloc__(self):
        free(self.slots)
        free(self.arena)

    def __init__(self, items=()):
        for k, v in (items.items() if isinstance(items, dict) else items):
            self.set(k, v)

    cdef int _alloc(self, Py_ssize_t cap) except -1:
        cdef Slot* s = <Slot*>normalize_big_alloc(cap * sizeof(Slot))
        cdef Py_ssize_t i
        if s == NULL:
            raise MemoryError()
        for i in range(cap):
            s[i].value = -1
        free(self.slots)
        self.slots = s
        self.cap = cap
        return 0

    cdef int clear(self) except -1:
        self._alloc(16)
        self.count = self.arena_n = self.marked = self.marked_arena = 0
        return 0

    cdef const uint32_t* slot_chars(self, Slot* slot, uint32_t* buf, Py_ssize_t* n) noexcept:
        """The code points of a slot's key (``n`` of them): in the arena, or a short key
        unpacked into ``buf`` (8 code points)."""
        cdef Py_ssize_t i, m = slot.tag >> 28
        if m == LONG_CODE:
            n[0] = <Py_ssize_t>(slot.key >> OFFSET_BITS)
            return &self.arena[<Py_ssize_t>(slot.key & OFFSET_MASK)]
        for i in range(m):
            buf[i] = <uint32_t>((slot.key >> (8 * (m - 1 - i))) & 0xFF)
        n[0] = m
        return buf

    cdef uint64_t slot_hash(self, Slot* slot) noexcept:
        """The full hash of a slot's key, made again from the key (a slot keeps part of it)."""
        cdef uint32_t buf[8]
        cdef Py_ssize_t n
        cdef Key k
        cdef const uint32_t* chars = self.slot_chars(slot, buf, &n)
        key_of(chars, 0, n, &k)
        return k.h

    cdef int _grow(self) except -1:
        return self._rebuild(self.cap * 2, <int64_t>1 << 31)  # (every value: all are below 2**31)

    cdef int _rebuild(self, Py_ssize_t cap, int64_t below) except -1:
        """The slots made again, ``cap`` of them, holding the keys whose value is below ``below``."""
        cdef Slot* old = self.slots
        cdef Py_ssize_t old_cap = self.cap, i, j, mask, kept = 0
        cdef Slot* s = <Slot*>normalize_big_alloc(cap * sizeof(Slot))
        if s == NULL:
            raise MemoryError()
        self.slots = s
        self.cap = cap
        mask = cap - 1
        for i in range(cap):
            s[i].value = -1
        for i in range(old_cap):
            if 0 <= old[i].value < below:
                j = <Py_ssize_t>(self.slot_hash(&old[i]) & mask)
                while s[j].value >= 0:
                    j = (j + 1) & mask
                s[j] = old[i]
                kept += 1
        free(old)
        self.count = kept
        return 0

    cdef int mark(self) except -1:
        """Remember the map as it is now, for :meth:`back_to_mark`."""
        self.marked, self.marked_arena = self.count, self.arena_n
        return 0

    cdef int back_to_mark(self) except -1:
        """Back to the map :meth:`mark` saw (nothing when not marked), for a map whose values
        number its keys in order of insertion (sm_intern, the lexicon's table): the keys added
        since are dropped, and their part of the arena. The capacity stays: the map is about
        to fill again."""
        self._rebuild(self.cap, self.marked)
        self.arena_n = self.marked_arena
        return 0

    cdef str key_at(self, Py_ssize_t i):
        """The key of slot i (which holds one)."""
        cdef uint32_t buf[8]
        cdef Py_ssize_t n, j
        cdef const uint32_t* chars = self.slot_chars(&self.slots[i], buf, &n)
        return "".join([chr(chars[j]) for j in range(n)])

    cdef int32_t get_str(self, str key) noexcept:
        cdef int kind = PyUnicode_KIND(key)
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(key)
        if kind == 1:
            return sm_get(self, <uint8_t*>PyUnicode_DATA(key), 0, n)
        if kind == 2:
            return sm_get(self, <uint16_t*>PyUnicode_DATA(key), 0, n)
        return sm_get(self, <uint32_t*>PyUnicode_DATA(key), 0, n)

    def set(self, str key, int value):
        cdef int kind = PyUnicode_KIND(key)
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(key)
        if value < 0:
            raise ValueError("values are >= 0")
        if kind == 1:
            sm_set(self, <uint8_t*>PyUnicode_DATA(key), 0, n, value)
        elif kind == 2:
            sm_set(self, <uint16_t*>PyUnicode_DATA(key), 0, n, value)
        else:
            sm_set(self, <uint32_t*>PyUnicode_DATA(key), 0, n, value)

    def get(self, str key, default=None):
        cdef int32_t v = self.get_str(key)
        return default if v < 0 else v

    def __getitem__(self, str key):
        cdef int32_t v = self.get_str(key)
        if v < 0:
            raise KeyError(key)
        return v

    def __contains__(self, key):
        return isinstance(key, str) and self.get_str(key) >= 0

    def __len__(self):
        return self.count

    def items(self, int least=0):
        """(key, value) of every key (whose value is at least ``least``), in the table's order."""
        cdef Py_ssize_t i
        return [(self.key_at(i), self.slots[i].value) for i in range(self.cap) if self.slots[i].value >= least]

    def nth_value(self, Py_ssize_t n):
        """The n-th highest value (counting from 1, repeats counted): ``items(nth_value(n))``
        holds the n keys of the highest values, and any tied with the last (0 if n > len)."""
        cdef int32_t* vals
        cdef Py_ssize_t i, k = 0
        cdef int32_t got
        if n <= 0 or n > self.count:
            return 0
        vals = <int32_t*>malloc(self.count * sizeof(int32_t))
        if vals == NULL:
            raise MemoryError()
        for i in range(self.cap):
            if self.slots[i].value >= 0:
                vals[k] = -self.slots[i].value
                k += 1
        qsort(vals, k, sizeof(int32_t), cmp_int32)
        got = -vals[n - 1]
        free(vals)
        return got

    def keys(self):
        cdef Py_ssize_t i
        return [self.key_at(i) for i in range(self.cap) if self.slots[i].value >= 0]

    def values(self):
        cdef Py_ssize_t i
        return [self.slots[i].value for i in range(self.cap) if self.slots[i].value >= 0]

    def __iter__(self):
        return iter(self.keys())

    def nbytes(self):
        """The memory the table holds (its slots and its arena)."""
        return self.cap * sizeof(Slot) + self.arena_cap * sizeof(uint32_t)


cdef int cmp_int32(const void* a, const void* b) noexcept nogil:
    cdef int32_t x = (<const int32_t*>a)[0], y = (<const int32_t*>b)[0]
    return (x > y) - (x < y)


cdef inline bint sm_same(StrMap m, Slot* slot, const chr_t* d, Py_ssize_t s, Py_ssize_t e, Key* k) noexcept:
    """Whether the slot (whose tag is k's) holds the key d[s:e]."""
    cdef Py_ssize_t i, off
    if k.short:  # (the tag holds the length)
        return slot.key == k.packed
    if <Py_ssize_t>(slot.key >> OFFSET_BITS) != e - s:
        return False
    off = <Py_ssize_t>(slot.key & OFFSET_MASK)
    for i in range(e - s):
        if m.arena[off + i] != d[s + i]:
            return False
    return True


cdef inline Py_ssize_t sm_slot(StrMap m, const chr_t* d, Py_ssize_t s, Py_ssize_t e, Key* k) noexcept:
    """The slot of the key d[s:e] (hashed as k), or of the empty slot where it would go."""
    cdef Py_ssize_t mask = m.cap - 1
    cdef Py_ssize_t i = <Py_ssize_t>(k.h & mask)
    cdef Slot* slot
    while True:
        slot = &m.slots[i]
        if slot.value < 0 or (slot.tag == k.tag and sm_same(m, slot, d, s, e, k)):
            return i
        i = (i + 1) & mask


cdef inline int32_t sm_find(StrMap m, const chr_t* d, Py_ssize_t s, Py_ssize_t e, Key* k) noexcept:
    """The value of the key d[s:e] (hashed as k by key_of), -1 when absent."""
    return m.slots[sm_slot(m, d, s, e, k)].value


cdef inline int32_t sm_get(StrMap m, const chr_t* d, Py_ssize_t s, Py_ssize_t e) noexcept:
    cdef Key k
    key_of(d, s, e, &k)
    return m.slots[sm_slot(m, d, s, e, &k)].value


cdef int sm_add(StrMap m, const chr_t* d, Py_ssize_t s, Py_ssize_t e, Key* k, int32_t value) except -1:
    """Insert a key known to be absent."""
    cdef Py_ssize_t i, mask, need, cap
    cdef uint32_t* a
    cdef uint64_t where
    if (m.count + 1) * 2 > m.cap:
        m._grow()
    if k.short:
        where = k.packed
    else:
        need = m.arena_n + (e - s)
        if e - s >= (1 << (64 - OFFSET_BITS)) or need >= (1LL << OFFSET_BITS):
            raise ValueError("a key too long for the table")
        if need > m.arena_cap:
            cap = m.arena_cap * 2 if m.arena_cap else 256
            while cap < need:
                cap *= 2
            a = <uint32_t*>realloc(m.arena, cap * sizeof(uint32_t))
            if a == NULL:
                raise MemoryError()
            m.arena = a
            m.arena_cap = cap
        for i in range(e - s):
            m.arena[m.arena_n + i] = d[s + i]
        where = <uint64_t>m.arena_n | (<uint64_t>(e - s) << OFFSET_BITS)
        m.arena_n = need
    mask = m.cap - 1
    i = <Py_ssize_t>(k.h & mask)
    while m.slots[i].value >= 0:
        i = (i + 1) & mask
    m.slots[i].key = where
    m.slots[i].tag = k.tag
    m.slots[i].value = value
    m.count += 1
    return 0


cdef int sm_set(StrMap m, const chr_t* d, Py_ssize_t s, Py_ssize_t e, int32_t value) except -1:
    cdef Key k
    cdef Py_ssize_t i
    key_of(d, s, e, &k)
    i = sm_slot(m, d, s, e, &k)
    if m.slots[i].value >= 0:
        m.slots[i].value = value
        return 0
    return sm_add(m, d, s, e, &k, value)


cdef int32_t sm_intern(StrMap m, const chr_t* d, Py_ssize_t s, Py_ssize_t e) except -2:
    """The number of the key d[s:e], numbered in order of first sight."""
    cdef Key k
    cdef int32_t got
    key_of(d, s, e, &k)
    got = sm_find(m, d, s, e, &k)
    if got < 0:
        got = <int32_t>m.count
        sm_add(m, d, s, e, &k, got)
    return got


cdef int32_t sm_intern_str(StrMap m, str key) except -2:
    cdef int kind = PyUnicode_KIND(key)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(key)
    if kind == 1:
        return sm_intern(m, <uint8_t*>PyUnicode_DATA(key), 0, n)
    if kind == 2:
        return sm_intern(m, <uint16_t*>PyUnicode_DATA(key), 0, n)
    return sm_intern(m, <uint32_t*>PyUnicode_DATA(key), 0, n)


# -- tokens ---------------------------------------------------------------------------------------------
cdef inline bint is_joiner(uint32_t c) noexcept:
    return c == 39 or c == 0x2019 or c == 45  # ' ’ -


cdef Py_ssize_t token_end(const chr_t* d, Py_ssize_t i, Py_ssize_t end, int* tkind) noexcept:
    """The end of the token that starts at i (a character that is not a space)."""
    cdef uint32_t c = d[i], x
    cdef Py_ssize_t j = i + 1
    if is_letter(c):
        while j < end and is_letter(d[j]):
            j += 1
        while j + 1 < end and is_joiner(d[j]) and is_letter(d[j + 1]):
            j += 2
            while j < end and is_letter(d[j]):
                j += 1
        tkind[0] = WORD
    elif is_decimal(c):
        while j < end and is_decimal(d[j]):
            j += 1
        while j + 1 < end:
            x = d[j]
            if (x == 46 or x == 44 or x == 58 or x == 47) and is_decimal(d[j + 1]):  # . , : /
                j += 2
                while j < end and is_decimal(d[j]):
                    j += 1
            else:
                break
        tkind[0] = NUMBER
    else:
        tkind[0] = 0
    return j


cdef list tokens_of(const chr_t* d, Py_ssize_t i, Py_ssize_t stop):
    cdef int tk
    cdef Py_ssize_t j
    out = []
    while i < stop:
        if is_space(d[i]):
            i += 1
            continue
        j = token_end(d, i, stop, &tk)
        out.append((i, j))
        i = j
    return out


def tokens(str text, Py_ssize_t start=0, end=None):
    """(start, end) of every token of text[start:end], in order."""
    cdef int kind = PyUnicode_KIND(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    cdef Py_ssize_t stop = n if end is None else min(<Py_ssize_t>end, n)
    cdef Py_ssize_t i = max(start, 0)
    if kind == 1:
        return tokens_of(<uint8_t*>PyUnicode_DATA(text), i, stop)
    if kind == 2:
        return tokens_of(<uint16_t*>PyUnicode_DATA(text), i, stop)
    return tokens_of(<uint32_t*>PyUnicode_DATA(text), i, stop)


cdef list cap_words_of(const chr_t* d, Py_ssize_t n):
    cdef int tk
    cdef Py_ssize_t i = 0, j
    out = []
    while i < n:
        if is_space(d[i]):
            i += 1
            continue
        j = token_end(d, i, n, &tk)
        if tk == WORD and j - i >= 2 and is_upper(d[i]) \
                and (i == 0 or not is_alnum(d[i - 1])) and (j == n or not is_alnum(d[j])):
            out.append(i)
            out.append(j)
        i = j
    return out


def cap_words(str text):
    """Flat [start, end, ...] of the capitalised words (see kernel.py)."""
    cdef int kind = PyUnicode_KIND(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    if kind == 1:
        return cap_words_of(<uint8_t*>PyUnicode_DATA(text), n)
    if kind == 2:
        return cap_words_of(<uint16_t*>PyUnicode_DATA(text), n)
    return cap_words_of(<uint32_t*>PyUnicode_DATA(text), n)


# -- sentences ------------------------------------------------------------------------------------------
cdef inline bint is_ender(uint32_t c) noexcept:  # . ! ? …
    if c < 256:
        return CLS[c] & C_ENDER
    return c == 0x2026


cdef inline bint is_closer(uint32_t c) noexcept:  # ” ’ " ' ) ] »
    return c == 0x201D or c == 0x2019 or c == 34 or c == 39 or c == 41 or c == 93 or c == 0xBB


cdef inline bint is_gap(uint32_t c) noexcept:
    return c == 32 or c == 9 or c == 0xA0


cdef inline bint is_opening(uint32_t c) noexcept:  # “ " ‘ ' ( [ «
    return c == 0x201C or c == 34 or c == 0x2018 or c == 39 or c == 40 or c == 91 or c == 0xAB


@cython.final
cdef class Abbreviations:
    """Lowercase abbreviations (see kernel.py): the ASCII ones in a table, the rest in a set."""

    cdef readonly frozenset words
    cdef StrMap ascii

    def __init__(self, words=()):
        self.words = frozenset(w.lower() for w in words)
        self.ascii = StrMap()
        for w in self.words:
            if w.isascii() and w not in self.ascii:
                self.ascii.set(w, 1)

    def __contains__(self, str word):
        return word in self.words



cdef bint abbrev_skips(Abbreviations ab, str text, const chr_t* d, Py_ssize_t lo, Py_ssize_t a) except -1:
    """Whether the full stop at ``a`` ends an abbreviation or an initial: the word before it
    (letters, digits, dots, underscores; not before ``lo``), lowercased."""
    cdef Py_ssize_t j = a, i
    cdef uint32_t c
    cdef bint ascii = True
    cdef uint32_t buf[64]
    while j > lo:
        c = d[j - 1]
        if is_alnum(c) or c == 46 or c == 95:
            if c >= 128:
                ascii = False
            j -= 1
        else:
            break
    if not ascii:
        word = PyUnicode_Substring(text, j, a).lower()
        return word in ab.words or (len(word) == 1 and word.isalpha())
    if a - j > 64:  # cannot happen: lo >= a - 64
        return False
    for i in range(a - j):
        c = d[j + i]
        buf[i] = c + 32 if 65 <= c <= 90 else c
    if a - j == 1 and CLS[buf[0]] & C_LETTER:
        return True
    return sm_get(ab.ascii, <const uint32_t*>buf, 0, a - j) >= 0


cdef int emit(const chr_t* d, Py_ssize_t s, Py_ssize_t e, IBuf* out) except -1:
    while s < e and is_space(d[s]):
        s += 1
    while e > s and is_space(d[e - 1]):
        e -= 1
    if e > s:
        ibuf_push(out, <int32_t>s)
        ibuf_push(out, <int32_t>e)
    return 0


cdef Py_ssize_t sentence_end(const chr_t* d, Py_ssize_t j, Py_ssize_t n) noexcept:
    cdef Py_ssize_t k = j, g
    cdef uint32_t c
    while k < n and is_closer(d[k]):
        k += 1
    g = k
    while g < n and is_gap(d[g]):
        g += 1
    if g == k or g == n:
        return -1
    c = d[g]
    if is_opening(c):
        if g + 1 == n:
            return -1
        c = d[g + 1]
    return k if is_upper(c) or is_decimal(c) else -1


cdef int split_into(str text, const chr_t* d, Py_ssize_t n, Abbreviations ab, IBuf* out) except -1:
    cdef Py_ssize_t pos = 0, le, i, start, a, j, k
    cdef uint32_t c
    while pos < n:
        le = pos
        while le < n and not is_break(d[le]):
            le += 1
        if le < n:
            if d[le] == 13 and le + 1 < n and d[le + 1] == 10:
                le += 2
            else:
                le += 1
        start = i = pos
        while True:
            while i < le and not is_ender(d[i]):
                i += 1
            if i >= le:
                break
            a = i
            j = a + 1
            while j < le and is_ender(d[j]):
                j += 1
            k = sentence_end(d, j, le)
            if k < 0:
                i = j
                continue
            i = k
            if d[a] == 46 and abbrev_skips(ab, text, d, max(start, a - 64), a):
                continue
            emit(d, start, k, out)
            start = k
        emit(d, start, le, out)
        pos = le
    return 0


def split(str text, Abbreviations abbreviations):
    """The sentence spans of text (see kernel.py)."""
    cdef IBuf out
    cdef Py_ssize_t i
    out.p = NULL
    out.n = out.cap = 0
    cdef int kind = PyUnicode_KIND(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    try:
        if kind == 1:
            split_into(text, <uint8_t*>PyUnicode_DATA(text), n, abbreviations, &out)
        elif kind == 2:
            split_into(text, <uint16_t*>PyUnicode_DATA(text), n, abbreviations, &out)
        else:
            split_into(text, <uint32_t*>PyUnicode_DATA(text), n, abbreviations, &out)
        return [(out.p[i], out.p[i + 1]) for i in range(0, out.n, 2)]
    finally:
        ibuf_free(&out)


# -- strings present in a text --------------------------------------------------------------------------
@cython.final
cdef class Needles:
    """Which of a list of strings occur in a text (see kernel.py): one pass over the text; at a
    character that begins some of the strings, each of those is compared."""

    cdef readonly list strings
    cdef uint32_t* chars  # the strings, one after the other
    cdef int32_t* off
    cdef int32_t* length
    cdef int32_t* after  # the next string with the same first character (-1: none)
    cdef int32_t* head  # per character below 65536: the first string beginning with it (-1: none)
    cdef dict big  # first characters from 65536 up -> the first string
    cdef Py_ssize_t count
    cdef uint8_t pairs[8192]  # bit per (hashed) pair of first two characters of a string
    cdef uint8_t single[8192]  # bit per character below 65536 that is a whole string
    cdef bint any_single  # some string is one character
    cdef bint lower_ascii  # every string is lowercase ASCII (present_folded)

    def __cinit__(self, *args, **kwargs):
        self.chars = NULL
        self.off = self.length = self.after = self.head = NULL

    def __dealloc__(self):
        free(self.chars)
        free(self.off)
        free(self.length)
        free(self.after)
        free(self.head)

    def __init__(self, strings):
        cdef Py_ssize_t i, j, total, at = 0
        cdef uint32_t c
        self.strings = list(strings)
        if any(not s for s in self.strings):
            raise ValueError("an empty string is in every text")
        self.count = len(self.strings)
        total = sum(len(x) for x in self.strings)
        self.chars = <uint32_t*>malloc(max(total, 1) * sizeof(uint32_t))
        self.off = <int32_t*>malloc(max(self.count, 1) * sizeof(int32_t))
        self.length = <int32_t*>malloc(max(self.count, 1) * sizeof(int32_t))
        self.after = <int32_t*>malloc(max(self.count, 1) * sizeof(int32_t))
        self.head = <int32_t*>malloc(65536 * sizeof(int32_t))
        if not (self.chars and self.off and self.length and self.after and self.head):
            raise MemoryError()
        for i in range(65536):
            self.head[i] = -1
        self.big = {}
        for i in range(self.count - 1, -1, -1):  # so that each list runs in the strings' order
            x = self.strings[i]
            c = ord(x[0])
            if c < 65536:
                self.after[i] = self.head[c]
                self.head[c] = <int32_t>i
            else:
                self.after[i] = self.big.get(c, -1)
                self.big[c] = i
        memset(self.pairs, 0, sizeof(self.pairs))
        memset(self.single, 0, sizeof(self.single))
        for i in range(self.count):
            x = self.strings[i]
            if len(x) >= 2:
                c = pair_bit(ord(x[0]), ord(x[1]))
                self.pairs[c >> 3] |= 1 << (c & 7)
            elif ord(x) < 65536:
                self.single[ord(x) >> 3] |= 1 << (ord(x) & 7)
            else:
                self.single[0] |= 1  # (a character above 65536 alone: pairs cannot tell)
        self.any_single = any(len(x) == 1 for x in self.strings)
        self.lower_ascii = all(x.isascii() and x == x.lower() for x in self.strings)
        for i in range(self.count):
            x = self.strings[i]
            self.off[i] = <int32_t>at
            self.length[i] = <int32_t>len(x)
            for j in range(len(x)):
                self.chars[at + j] = ord(x[j])
            at += len(x)

    def present(self, str text):
        return self._present(text, False)

    def present_folded(self, str text):
        """present(fold(text)) (normalize.literals.fold), for lowercase ASCII strings (see kernel.py)."""
        if not self.lower_ascii:
            raise ValueError("present_folded looks for lowercase ASCII strings only")
        return self._present(text, True)

    def _present(self, str text, bint folded):
        cdef int kind = PyUnicode_KIND(text)
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
        cdef uint8_t* found = <uint8_t*>malloc(max(self.count, 1))
        if found == NULL:
            raise MemoryError()
        try:
            memset(found, 0, max(self.count, 1))
            if kind == 1:
                needles_in(self, <uint8_t*>PyUnicode_DATA(text), n, found, folded)
            elif kind == 2:
                needles_in(self, <uint16_t*>PyUnicode_DATA(text), n, found, folded)
            else:
                needles_in(self, <uint32_t*>PyUnicode_DATA(text), n, found, folded)
            mask = 0
            for i in range(self.count):
                if found[i]:
                    mask |= 1 << i
            return mask
        finally:
            free(found)


cdef inline uint32_t fold_char(uint32_t c) noexcept:
    """The character of literals.fold as far as lowercase ASCII strings can tell: an ASCII letter
    lowercased, the four characters above ASCII that fold to an ASCII letter (İ ı ſ K) mapped,
    any other character kept (it folds to a character above ASCII)."""
    if c < 128:
        return c + 32 if 65 <= c <= 90 else c
    if c == 0x130 or c == 0x131:
        return 105  # i
    if c == 0x17F:
        return 115  # s
    if c == 0x212A:
        return 107  # k
    return c


cdef int needles_in(Needles nd, const chr_t* d, Py_ssize_t n, uint8_t* found, bint folded) except -1:
    cdef Py_ssize_t p, q, m, left = nd.count, o
    cdef int32_t h
    cdef uint32_t c
    cdef bint big = len(nd.big) > 0
    cdef uint32_t pb
    cdef bint any_single = nd.any_single
    for p in range(n):
        c = fold_char(d[p]) if folded else d[p]
        if c < 65536:
            # a string starts here only if the first two characters are some string's, or
            # the character is a string by itself
            if p + 1 < n:
                pb = pair_bit(c, fold_char(d[p + 1]) if folded else d[p + 1])
                if not nd.pairs[pb >> 3] >> (pb & 7) & 1 and not (any_single and nd.single[c >> 3] >> (c & 7) & 1):
                    continue
            h = nd.head[c]
        elif big:
            h = nd.big.get(c, -1)
        else:
            continue
        while h >= 0:
            if not found[h]:
                m = nd.length[h]
                if p + m <= n:
                    o = nd.off[h]
                    for q in range(1, m):
                        if nd.chars[o + q] != (fold_char(d[p + q]) if folded else d[p + q]):
                            break
                    else:
                        found[h] = 1
                        left -= 1
                        if not left:
                            return 0
            h = nd.after[h]
    return 0


@cython.final
cdef class CharSet:
    """A set of characters (see kernel.py): one bit per code point."""

    cdef readonly frozenset chars
    cdef uint8_t* bits

    def __cinit__(self, *args, **kwargs):
        self.bits = <uint8_t*>malloc(0x110000 // 8)
        if self.bits == NULL:
            raise MemoryError()
        memset(self.bits, 0, 0x110000 // 8)

    def __dealloc__(self):
        free(self.bits)

    def __init__(self, chars):
        self.chars = frozenset(chars)
        for c in self.chars:
            if len(c) != 1:
                raise ValueError("one character each")
            self.bits[ord(c) >> 3] |= 1 << (ord(c) & 7)

    def find(self, str text, Py_ssize_t start=0, end=None):
        cdef int kind = PyUnicode_KIND(text)
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
        cdef Py_ssize_t stop = n if end is None else min(<Py_ssize_t>end, n)
        if start < 0:
            start = 0
        if kind == 1:
            return chars_in(self.bits, <uint8_t*>PyUnicode_DATA(text), start, stop)
        if kind == 2:
            return chars_in(self.bits, <uint16_t*>PyUnicode_DATA(text), start, stop)
        return chars_in(self.bits, <uint32_t*>PyUnicode_DATA(text), start, stop)

    def runs(self, str text, Py_ssize_t start=0, end=None):
        """How many maximal runs of characters of the set text[start:end] holds."""
        cdef int kind = PyUnicode_KIND(text)
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
        cdef Py_ssize_t stop = n if end is None else min(<Py_ssize_t>end, n)
        if start < 0:
            start = 0
        if kind == 1:
            return runs_of(self.bits, <uint8_t*>PyUnicode_DATA(text), start, stop)
        if kind == 2:
            return runs_of(self.bits, <uint16_t*>PyUnicode_DATA(text), start, stop)
        return runs_of(self.bits, <uint32_t*>PyUnicode_DATA(text), start, stop)

    def least_runs(self, str text, Py_ssize_t start=0, end=None):
        """A lower bound of the runs of any larger set with no other ASCII character (see kernel.py)."""
        cdef int kind = PyUnicode_KIND(text)
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
        cdef Py_ssize_t stop = n if end is None else min(<Py_ssize_t>end, n)
        if start < 0:
            start = 0
        if kind == 1:
            return least_runs_of(self.bits, <uint8_t*>PyUnicode_DATA(text), start, stop)
        if kind == 2:
            return least_runs_of(self.bits, <uint16_t*>PyUnicode_DATA(text), start, stop)
        return least_runs_of(self.bits, <uint32_t*>PyUnicode_DATA(text), start, stop)


cdef Py_ssize_t least_runs_of(const uint8_t* bits, const chr_t* d, Py_ssize_t i, Py_ssize_t stop) noexcept:
    """The maximal runs of characters of the set or above ASCII that hold one of the set."""
    cdef Py_ssize_t n = 0
    cdef bint counted = False  # the run so far holds one of the set
    cdef uint32_t c
    while i < stop:
        c = d[i]
        if bits[c >> 3] >> (c & 7) & 1:
            if not counted:
                n += 1
                counted = True
        elif c < 128:
            counted = False
        i += 1
    return n


cdef Py_ssize_t runs_of(const uint8_t* bits, const chr_t* d, Py_ssize_t i, Py_ssize_t stop) noexcept:
    cdef Py_ssize_t n = 0
    cdef bint inside = False
    cdef uint32_t c
    while i < stop:
        c = d[i]
        if bits[c >> 3] >> (c & 7) & 1:
            if not inside:
                n += 1
                inside = True
        else:
            inside = False
        i += 1
    return n


cdef Py_ssize_t chars_in(const uint8_t* bits, const chr_t* d, Py_ssize_t i, Py_ssize_t stop) noexcept:
    cdef uint32_t c
    while i < stop:
        c = d[i]
        if bits[c >> 3] >> (c & 7) & 1:
            return i
        i += 1
    return -1


def bio_lines(str text, CharSet lead, CharSet tail, CharSet enders, CharSet words, Py_ssize_t min_enders,
              Py_ssize_t max_words):
    """The lines that may be author bios (see kernel.py)."""
    cdef int kind = PyUnicode_KIND(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    out = []
    if kind == 1:
        bio_lines_of(<uint8_t*>PyUnicode_DATA(text), n, lead, tail, enders, words, min_enders, max_words, out)
    elif kind == 2:
        bio_lines_of(<uint16_t*>PyUnicode_DATA(text), n, lead, tail, enders, words, min_enders, max_words, out)
    else:
        bio_lines_of(<uint32_t*>PyUnicode_DATA(text), n, lead, tail, enders, words, min_enders, max_words, out)
    return out


cdef int bio_lines_of(const chr_t* d, Py_ssize_t n, CharSet lead, CharSet tail, CharSet enders, CharSet words,
                      Py_ssize_t min_enders, Py_ssize_t max_words, list out) except -1:
    cdef Py_ssize_t pos = 0, end, i, count, b, t, first
    cdef bint dot, last
    cdef uint32_t c
    cdef const uint8_t* E = enders.bits
    while pos < n:
        # the line: to the next "\n" (its "\r" left out), or to the end
        i = pos
        dot = False
        count = 0
        while i < n and d[i] != 10:
            c = d[i]
            if c == 46:
                dot = True
            if E[c >> 3] >> (c & 7) & 1:
                count += 1
            i += 1
        last = i >= n
        end = i - 1 if not last and i > pos and d[i - 1] == 13 else i
        if not last and end < i and (E[13 >> 3] >> (13 & 7) & 1):
            count -= 1  # (a "\r" left out of the line does not count)
        if dot and count >= min_enders:
            b = pos
            while b < end and lead.bits[d[b] >> 3] >> (d[b] & 7) & 1:
                b += 1
            t = end
            while t > b and tail.bits[d[t - 1] >> 3] >> (d[t - 1] & 7) & 1:
                t -= 1
            first = chars_in(E, d, b, t)
            if first < 0 or least_runs_of(words.bits, d, b, first) <= max_words:
                out.append(pos)
                out.append(end)
        if last:
            break
        pos = i + 1
    return 0


@cython.final
cdef class Words:
    """A set of strings looked up for every run of letters and digits (see kernel.py). A run is
    hashed only when its first two characters (one, for a one-character run) pass a bitmap of
    the strings' beginnings. With ``keys`` (string -> [(key, offset, payload), ...]), :meth:`found`
    gives the bounded occurrences of the keys anchored at the runs found."""

    cdef readonly frozenset strings
    cdef StrMap table
    cdef uint8_t starts[8192]  # bit per (hashed) pair of first characters
    cdef SList ckeys  # the keys, one after the other (code points)
    cdef IBuf coff  # each key's offset: where the run it is anchored at begins in it
    cdef IBuf cfirst  # the keys of string i: cfirst[i] to cfirst[i + 1]
    cdef list payloads

    def __dealloc__(self):
        slist_free(&self.ckeys)
        ibuf_free(&self.coff)
        ibuf_free(&self.cfirst)

    def __init__(self, strings=(), keys=None):
        self.table = StrMap()
        memset(self.starts, 0, sizeof(self.starts))
        self.payloads = []
        self.strings = frozenset(strings if keys is None else keys)
        if keys is not None:
            ibuf_push(&self.cfirst, 0)
        cdef int32_t r = 0
        for s in (self.strings if keys is None else keys):  # (a dict: in its order, for the keys' numbers)
            if keys is not None:
                for key, offset, payload in keys[s]:
                    if not 0 <= offset <= len(key) - len(s) or key[offset : offset + len(s)] != s:
                        raise ValueError(f"{key!r} does not hold {s!r} at {offset}")
                    slist_add(&self.ckeys, key)
                    ibuf_push(&self.coff, offset)
                    self.payloads.append(payload)
                ibuf_push(&self.cfirst, <int32_t>len(self.payloads))
            self.table.set(s, r)
            r += 1
            if s:
                h = pair_bit(ord(s[0]), ord(s[1]) if len(s) > 1 else 0)
                self.starts[h >> 3] |= 1 << (h & 7)

    def hits(self, str text, str lowered):
        cdef int kind = PyUnicode_KIND(text)
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
        if PyUnicode_GET_LENGTH(lowered) != n:
            raise ValueError("lowered must be as long as text")
        out = []
        if not self.table.count:
            return out
        if kind == 1:
            runs_in(self, <uint8_t*>PyUnicode_DATA(text), n, lowered, out, NULL)
        elif kind == 2:
            runs_in(self, <uint16_t*>PyUnicode_DATA(text), n, lowered, out, NULL)
        else:
            runs_in(self, <uint32_t*>PyUnicode_DATA(text), n, lowered, out, NULL)
        return out

    def found(self, str text, str lowered):
        """(start, end, payload) of each bounded occurrence in ``lowered`` of a key anchored at a
        run found, sorted by start, longest first (then in the order of the keys)."""
        cdef int kind = PyUnicode_KIND(text)
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i
        cdef IBuf got
        if PyUnicode_GET_LENGTH(lowered) != n:
            raise ValueError("lowered must be as long as text")
        if not self.table.count or not self.payloads:
            return []
        got.p = NULL
        got.n = got.cap = 0
        try:
            if kind == 1:
                runs_in(self, <uint8_t*>PyUnicode_DATA(text), n, lowered, None, &got)
            elif kind == 2:
                runs_in(self, <uint16_t*>PyUnicode_DATA(text), n, lowered, None, &got)
            else:
                runs_in(self, <uint32_t*>PyUnicode_DATA(text), n, lowered, None, &got)
            if got.n > 3:
                qsort(got.p, got.n // 3, 3 * sizeof(int32_t), cmp_found)
            return [(got.p[i], got.p[i + 1], self.payloads[got.p[i + 2]]) for i in range(0, got.n, 3)]
        finally:
            ibuf_free(&got)


cdef int cmp_found(const void* a, const void* b) noexcept nogil:
    """(start, end, key) triples: by start, the longest first, then by key."""
    cdef const int32_t* x = <const int32_t*>a
    cdef const int32_t* y = <const int32_t*>b
    if x[0] != y[0]:
        return -1 if x[0] < y[0] else 1
    if x[1] != y[1]:
        return -1 if x[1] > y[1] else 1
    return (x[2] > y[2]) - (x[2] < y[2])


cdef inline int32_t sm_get_any(StrMap m, int kind, void* data, Py_ssize_t s, Py_ssize_t e) noexcept:
    if kind == 1:
        return sm_get(m, <uint8_t*>data, s, e)
    if kind == 2:
        return sm_get(m, <uint16_t*>data, s, e)
    return sm_get(m, <uint32_t*>data, s, e)


cdef int runs_in(Words w, const chr_t* d, Py_ssize_t n, str lowered, list out, IBuf* got) except -1:
    """The runs of letters and digits of d whose lowered form is in the table: into ``out``
    (start, end), or, with ``got``, the bounded occurrences of their keys (start, end, key)."""
    cdef int lkind = PyUnicode_KIND(lowered)
    cdef void* ldata = PyUnicode_DATA(lowered)
    cdef Py_ssize_t i = 0, j
    cdef uint32_t h
    cdef int32_t r
    while i < n:
        if not is_alnum(d[i]):
            i += 1
            continue
        j = i + 1
        while j < n and is_alnum(d[j]):
            j += 1
        h = pair_bit(rd(lkind, ldata, i), rd(lkind, ldata, i + 1) if j > i + 1 else 0)
        if w.starts[h >> 3] >> (h & 7) & 1:
            r = sm_get_any(w.table, lkind, ldata, i, j)
            if r >= 0:
                if got == NULL:
                    out.append(i)
                    out.append(j)
                else:
                    keys_at(w, d, n, lkind, ldata, i, r, got)
        i = j
    return 0


cdef int keys_at(Words w, const chr_t* d, Py_ssize_t n, int lkind, void* ldata, Py_ssize_t at, int32_t r,
                 IBuf* got) except -1:
    """The keys of string r that occur bounded in the lowered text with that string at ``at``."""
    cdef Py_ssize_t c, s, e, a, m, k
    cdef bint same
    for c in range(w.cfirst.p[r], w.cfirst.p[r + 1]):
        s = at - w.coff.p[c]
        a = w.ckeys.off.p[c]
        m = w.ckeys.off.p[c + 1] - a
        e = s + m
        if s < 0 or e > n:
            continue
        if (s > 0 and is_alnum(d[s - 1])) or (e < n and is_alnum(d[e])):
            continue
        same = True
        for k in range(m):
            if rd(lkind, ldata, s + k) != <uint32_t>w.ckeys.chars.p[a + k]:
                same = False
                break
        if same:
            ibuf_reserve(got, 3)
            got.p[got.n] = <int32_t>s
            got.p[got.n + 1] = <int32_t>e
            got.p[got.n + 2] = <int32_t>c
            got.n += 3
    return 0


# -- spelling corrections --------------------------------------------------------------------------------
cdef bint one_edit(uint32_t* a, Py_ssize_t n, uint32_t* b, Py_ssize_t m) noexcept:
    """Whether a and b are at most one edit apart (delete, insert, replace, swap two neighbours:
    the optimal string alignment distance is at most 1)."""
    cdef Py_ssize_t i = 0, j
    if n == m:
        while i < n and a[i] == b[i]:
            i += 1
        if i == n:
            return True
        if i + 1 < n and a[i] == b[i + 1] and a[i + 1] == b[i]:  # two neighbours swapped
            j = i + 2
        else:
            j = i + 1
        while j < n:
            if a[j] != b[j]:
                return False
            j += 1
        return True
    if n == m + 1:
        return one_edit(b, m, a, n)
    if m != n + 1:
        return False
    while i < n and a[i] == b[i]:  # b is a with one character more
        i += 1
    while i < n:
        if a[i] != b[i + 1]:
            return False
        i += 1
    return True


@cython.final
cdef class Corrections:
    """The words one edit away from a word (see kernel.py): the deletions of every word in a
    table, each with the words it comes from."""

    cdef readonly list words
    cdef readonly list freqs
    cdef StrMap index  # word -> number
    cdef StrMap dels  # deletion -> group
    cdef IBuf group_at  # group -> first owner in owners
    cdef IBuf owners
    cdef uint32_t* chars  # the words' characters, one after the other
    cdef IBuf off

    def __cinit__(self, *args, **kwargs):
        self.chars = NULL

    def __dealloc__(self):
        free(self.chars)
        ibuf_free(&self.group_at)
        ibuf_free(&self.owners)
        ibuf_free(&self.off)

    def __init__(self, words, freqs):
        cdef Py_ssize_t total, i, k, j, m, n, at = 0, g
        cdef uint32_t d[WBUF]
        cdef IBuf count, last
        self.words = list(words)
        self.freqs = [int(f) for f in freqs]
        if len(self.freqs) != len(self.words):
            raise ValueError("one frequency per word")
        if any(len(w) >= WBUF for w in self.words):
            raise ValueError("words of fewer than 256 characters")
        self.index = StrMap()
        self.dels = StrMap()
        total = sum(len(w) for w in self.words)
        self.chars = <uint32_t*>malloc(max(total, 1) * sizeof(uint32_t))
        if self.chars == NULL:
            raise MemoryError()
        count.p = last.p = NULL
        count.n = count.cap = last.n = last.cap = 0
        try:
            for i in range(len(self.words)):
                w = self.words[i]
                n = len(w)
                ibuf_push(&self.off, <int32_t>at)
                for k in range(n):
                    self.chars[at + k] = ord(w[k])
                if sm_intern(self.index, <const uint32_t*>&self.chars[at], 0, n) != i:
                    raise ValueError(f"word listed twice: {w!r}")
                # each distinct deletion once per word: counted here, owners filled below
                for k in range(n):
                    m = 0
                    for j in range(n):
                        if j != k:
                            d[m] = self.chars[at + j]
                            m += 1
                    g = sm_intern(self.dels, <const uint32_t*>d, 0, m)
                    if g == count.n:
                        ibuf_push(&count, 0)
                        ibuf_push(&last, -1)
                    if last.p[g] != i:
                        last.p[g] = <int32_t>i
                        count.p[g] += 1
                at += n
            ibuf_push(&self.off, <int32_t>at)
            ibuf_reserve(&self.group_at, count.n + 1)
            at = 0
            for g in range(count.n):
                self.group_at.p[g] = <int32_t>at
                at += count.p[g]
                last.p[g] = -1
            self.group_at.p[count.n] = <int32_t>at
            self.group_at.n = count.n + 1
            ibuf_reserve(&self.owners, at)
            self.owners.n = at
            for g in range(count.n):
                count.p[g] = 0
            for i in range(len(self.words)):
                at = self.off.p[i]
                n = self.off.p[i + 1] - at
                for k in range(n):
                    m = 0
                    for j in range(n):
                        if j != k:
                            d[m] = self.chars[at + j]
                            m += 1
                    g = sm_get(self.dels, <const uint32_t*>d, 0, m)
                    if last.p[g] != i:
                        last.p[g] = <int32_t>i
                        self.owners.p[self.group_at.p[g] + count.p[g]] = <int32_t>i
                        count.p[g] += 1
        finally:
            ibuf_free(&count)
            ibuf_free(&last)

    cdef int add_group(self, Py_ssize_t g, IBuf* cands) except -1:
        cdef Py_ssize_t a
        if g >= 0:
            for a in range(self.group_at.p[g], self.group_at.p[g + 1]):
                ibuf_push(cands, self.owners.p[a])
        return 0

    def near(self, str word):
        """(frequency, word) of the words at edit distance 1, most frequent first."""
        cdef Py_ssize_t n = len(word), k, j, m, o, t, u
        cdef uint32_t w[WBUF]
        cdef uint32_t d[WBUF]
        cdef int32_t i
        cdef IBuf cands
        cdef bint same, dup
        if n >= WBUF - 1:
            return []
        for k in range(n):
            w[k] = ord(word[k])
        cands.p = NULL
        cands.n = cands.cap = 0
        out = []
        try:
            self.add_group(sm_get(self.dels, <const uint32_t*>w, 0, n), &cands)  # word is one of theirs, a letter missing
            for k in range(n):
                m = 0
                for j in range(n):
                    if j != k:
                        d[m] = w[j]
                        m += 1
                i = sm_get(self.index, <const uint32_t*>d, 0, m)  # word with a letter too many
                if i >= 0:
                    ibuf_push(&cands, i)
                self.add_group(sm_get(self.dels, <const uint32_t*>d, 0, m), &cands)  # a letter replaced, two swapped
            for u in range(cands.n):
                t = cands.p[u]
                dup = False
                for j in range(u):
                    if cands.p[j] == t:
                        dup = True
                        break
                if dup:
                    continue
                o = self.off.p[t]
                m = self.off.p[t + 1] - o
                same = m == n
                if same:
                    for k in range(n):
                        if self.chars[o + k] != w[k]:
                            same = False
                            break
                if not same and one_edit(w, n, &self.chars[o], m):
                    out.append((self.freqs[t], self.words[t]))
        finally:
            ibuf_free(&cands)
        out.sort(reverse=True)
        return out


# -- langdetect -------------------------------------------------------------------------------------------
@cython.final
cdef class NgramIndex:
    """langdetect's n-grams (the keys of its profiles) by number, and its text preparation
    (``Detector.cleaning_text``, ``Detector._extract_ngrams`` with ``NGram.normalize``) in
    one pass: :meth:`picks` gives the number of each n-gram the detector would draw from."""

    cdef StrMap index
    cdef object normalize
    cdef uint32_t* table  # per character below 65536: its normalised form + 1 (0: not asked yet)
    cdef IBuf row_at  # n-gram -> first entry of its row (and the next n-gram's: the end)
    cdef IBuf row_lang  # entries: language index ...
    cdef double* row_prob  # ... and probability
    cdef Py_ssize_t nlang

    def __cinit__(self, *args, **kwargs):
        self.table = <uint32_t*>malloc(65536 * sizeof(uint32_t))
        self.row_prob = NULL
        if self.table == NULL:
            raise MemoryError()
        memset(self.table, 0, 65536 * sizeof(uint32_t))

    def __dealloc__(self):
        free(self.table)
        free(self.row_prob)
        ibuf_free(&self.row_at)
        ibuf_free(&self.row_lang)

    def __init__(self, ngrams, normalize, rows=None, Py_ssize_t nlang=0):
        """``ngrams``: the n-grams, numbered in this order; ``normalize``: NGram.normalize;
        ``rows``: per n-gram its nonzero (language index, probability) pairs (for :meth:`detect`)
        among ``nlang`` languages, as a sequence of pairs or as ``bytes`` of little-endian
        ``struct`` "<Hd" entries (read here without making a tuple of each)."""
        cdef Py_ssize_t i, k, n, total = 0, at = 0
        cdef const unsigned char* raw
        cdef uint16_t lang16
        cdef double prob64
        self.index = StrMap()
        for i, g in enumerate(ngrams):
            if g not in self.index:
                self.index.set(g, i)
        self.normalize = normalize
        self.nlang = nlang
        if rows is not None:
            rows = list(rows)
            packed = sys.byteorder == "little"  # (the entries are little-endian, as is this machine)
            if not packed:
                rows = [list(_ENTRY_HD.iter_unpack(r)) if isinstance(r, bytes) else r for r in rows]
            for r in rows:
                if isinstance(r, bytes) and len(r) % 10:
                    raise ValueError("a packed row is not a whole number of 10-byte entries")
                total += len(r) // 10 if isinstance(r, bytes) else len(r)
            self.row_prob = <double*>malloc(max(total, 1) * sizeof(double))
            if self.row_prob == NULL:
                raise MemoryError()
            for r in rows:
                ibuf_push(&self.row_at, <int32_t>at)
                if isinstance(r, bytes):
                    raw = <const unsigned char*>(<bytes>r)
                    n = len(<bytes>r) // 10
                    for k in range(n):
                        memcpy(&lang16, raw + 10 * k, 2)
                        memcpy(&prob64, raw + 10 * k + 2, 8)
                        if lang16 >= nlang:
                            raise ValueError("a language index out of range")
                        ibuf_push(&self.row_lang, <int32_t>lang16)
                        self.row_prob[at] = prob64
                        at += 1
                    continue
                for lang, prob in r:
                    if not 0 <= lang < nlang:
                        raise ValueError("a language index out of range")
                    ibuf_push(&self.row_lang, <int32_t>lang)
                    self.row_prob[at] = prob
                    at += 1
            ibuf_push(&self.row_at, <int32_t>at)

    def __len__(self):
        return self.index.count

    def lookup(self, str ngram):
        """The number of an n-gram, -1 when it is not one of the profiles'."""
        return self.index.get_str(ngram)

    def row(self, Py_ssize_t i):
        """The (language index, probability) pairs of n-gram number i (given with ``rows``)."""
        cdef Py_ssize_t a
        if not 0 <= i < self.row_at.n - 1:
            raise IndexError("no such n-gram row")
        return [(self.row_lang.p[a], self.row_prob[a]) for a in range(self.row_at.p[i], self.row_at.p[i + 1])]

    def ngrams(self):
        """The n-grams (in the table's order)."""
        return self.index.keys()

    cdef uint32_t norm(self, uint32_t c) except 0xFFFFFFFF:
        cdef uint32_t got
        if c < 65536:
            got = self.table[c]
            if got:
                return got - 1
            got = ord(self.normalize(chr(c)))
            self.table[c] = got + 1
            return got
        return ord(self.normalize(chr(c)))

    def picks(self, str text):
        """The numbers of the n-grams extracted from text (what Detector.append left in
        ``self.text``), in order; languages the text is not written in are left out as langdetect
        does (mostly non-Latin text: its Latin letters are dropped)."""
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i, m = 0, latin = 0, other = 0, g = 1, k
        cdef int kind = PyUnicode_KIND(text)
        cdef void* data = PyUnicode_DATA(text)
        cdef uint32_t c, last
        cdef uint32_t grams[3]
        cdef bint cap = False, drop
        cdef int32_t got
        out = []
        for i in range(n):  # cleaning_text
            c = rd(kind, data, i)
            if 65 <= c <= 122:
                latin += 1
            elif c >= 0x300:
                other += 1
        drop = latin * 2 < other
        grams[0] = 32
        for i in range(n):
            c = rd(kind, data, i)
            if drop and 65 <= c <= 122:
                continue
            c = self.norm(c)  # NGram.add_char
            last = grams[g - 1]
            if last == 32:
                grams[0] = 32
                g = 1
                cap = False
                if c == 32:
                    continue
            elif g >= 3:
                grams[0] = grams[1]
                grams[1] = grams[2]
                g = 2
            grams[g] = c
            g += 1
            if is_upper(c):
                if is_upper(last):
                    cap = True
            else:
                cap = False
            if cap:
                continue
            for k in range(1, 4):  # _extract_ngrams: the 1-, 2- and 3-grams ending here
                if g < k:
                    break
                if k == 1 and grams[g - 1] == 32:
                    continue
                got = sm_get(self.index, <const uint32_t*>grams, g - k, g)
                if got >= 0:
                    out.append(got)
        return out

    def detect(self, str text, rnd, double alpha, double alpha_width, int n_trial, int iteration_limit,
               double conv_threshold, double base_freq, init, total=sum):
        """Detector._detect_block after ``rnd.seed(seed)`` (the detector's random generator): the
        language probabilities, or None when the text has no n-gram of the profiles. Draws as
        random.Random.choice does (``getrandbits`` of the bit length, again while too large)."""
        cdef Py_ssize_t n = self.nlang, j, t, i, r, k, p, nd, bits
        cdef IBuf picks, distinct, where
        cdef double* dense = NULL
        cdef double* prob = NULL
        cdef double* langprob = NULL
        cdef double weight, ssum, top
        cdef bint nan
        # Python's sum of floats before 3.12 adds them left to right in a double: the same sum,
        # without a list of floats made every fifth draw (3.12 compensates: its own sum is called)
        cdef bint plain_sum = total is sum and PY_VERSION_HEX < 0x030C0000
        found = self.picks(text)
        if not found:
            return None
        if self.row_prob == NULL:
            raise ValueError("an index built without rows")
        picks.p = distinct.p = where.p = NULL
        picks.n = picks.cap = distinct.n = distinct.cap = where.n = where.cap = 0
        try:
            # the rows of the distinct n-grams, dense (what SparseProfiles.array gives)
            for g in found:
                ibuf_push(&picks, <int32_t>g)
            for p in range(picks.n):
                for k in range(distinct.n):
                    if distinct.p[k] == picks.p[p]:
                        break
                else:
                    k = distinct.n
                    ibuf_push(&distinct, picks.p[p])
                ibuf_push(&where, <int32_t>k)
            nd = distinct.n
            dense = <double*>malloc(max(nd * n, 1) * sizeof(double))
            prob = <double*>malloc(max(n, 1) * sizeof(double))
            langprob = <double*>malloc(max(n, 1) * sizeof(double))
            if dense == NULL or prob == NULL or langprob == NULL:
                raise MemoryError()
            memset(dense, 0, max(nd * n, 1) * sizeof(double))
            for k in range(nd):
                for r in range(self.row_at.p[distinct.p[k]], self.row_at.p[distinct.p[k] + 1]):
                    dense[k * n + self.row_lang.p[r]] = self.row_prob[r]
            for j in range(n):
                langprob[j] = 0.0
            getrandbits = rnd.getrandbits
            gauss = rnd.gauss
            bits = (picks.n).bit_length()
            for t in range(n_trial):
                for j in range(n):
                    prob[j] = init[j]
                weight = (alpha + <double>gauss(0.0, 1.0) * alpha_width) / base_freq
                i = 0
                while True:
                    r = getrandbits(bits)
                    while r >= picks.n:
                        r = getrandbits(bits)
                    k = where.p[r]
                    for j in range(n):
                        prob[j] *= weight + dense[k * n + j]
                    if i % 5 == 0:
                        if plain_sum:
                            ssum = 0.0
                            for j in range(n):
                                ssum += prob[j]
                        else:
                            ssum = total([prob[j] for j in range(n)])
                        top = 0.0
                        nan = False
                        for j in range(n):
                            prob[j] /= ssum
                            if isnan(prob[j]):
                                nan = True
                            elif j == 0 or prob[j] > top:
                                top = prob[j]
                        if not nan and (top if top > 0.0 else 0.0) > conv_threshold or i >= iteration_limit:
                            break
                    i += 1
                for j in range(n):
                    langprob[j] += prob[j] / n_trial
            return [langprob[j] for j in range(n)]
        finally:
            free(dense)
            free(prob)
            free(langprob)
            ibuf_free(&picks)
            ibuf_free(&distinct)
            ibuf_free(&where)


# -- names: the capitalised words of the gazetteer's rules beyond its list ----------------------------
cdef enum:
    N_GIVEN = 1 << 0
    N_SURNAME = 1 << 1
    N_NEAR = 1 << 2
    N_GROUP = 1 << 3
    N_PLURAL = 1 << 4

NAME_BITS = {"GIVEN": N_GIVEN, "SURNAME": N_SURNAME, "NEAR": N_NEAR, "GROUP": N_GROUP, "PLURAL": N_PLURAL}
_TRANSLIT = (("shch", "sc"), ("tsch", "c"), ("sch", "s"), ("kh", "h"), ("zh", "z"), ("ch", "c"),
             ("sh", "s"), ("ts", "c"), ("tz", "c"), ("ck", "k"), ("w", "v"), ("ph", "f"),
             ("yo", "e"), ("ye", "e"), ("iy", "i"), ("yi", "i"),
             ("ij", "i"), ("ii", "i"), ("y", "i"), ("j", "i"), ("ou", "u"))
cdef uint32_t TL_FROM[21][4]
cdef int TL_FROM_N[21]
cdef uint32_t TL_TO[21][2]
cdef int TL_TO_N[21]
for _i, (_a, _b) in enumerate(_TRANSLIT):
    TL_FROM_N[_i] = len(_a)
    TL_TO_N[_i] = len(_b)
    for _j, _c in enumerate(_a):
        TL_FROM[_i][_j] = ord(_c)
    for _j, _c in enumerate(_b):
        TL_TO[_i][_j] = ord(_c)


cdef Py_ssize_t replace_all(uint32_t* w, Py_ssize_t n, const uint32_t* a, int an, const uint32_t* b, int bn) noexcept:
    """str.replace(a, b) in place (b is never longer than a); the new length."""
    cdef Py_ssize_t i = 0, o = 0, k
    cdef bint hit
    while i < n:
        hit = i + an <= n
        if hit:
            for k in range(an):
                if w[i + k] != a[k]:
                    hit = False
                    break
        if hit:
            for k in range(bn):
                w[o + k] = b[k]
            o += bn
            i += an
        else:
            w[o] = w[i]
            o += 1
            i += 1
    return o


cdef Py_ssize_t translit_into(uint32_t* tok, Py_ssize_t n, uint32_t* w) noexcept:
    """translit_ascii of the ASCII word tok[:n], into w; its length."""
    cdef Py_ssize_t m = 0, i, o
    cdef uint32_t c
    cdef uint32_t ae[2]
    cdef uint32_t one[1]
    for i in range(n):
        c = tok[i]
        if 65 <= c <= 90:
            c += 32
        if 97 <= c <= 122:
            w[m] = c
            m += 1
    ae[1] = 101
    for c in (97, 111, 117):  # ae -> a, oe -> o, ue -> u
        ae[0] = c
        one[0] = c
        m = replace_all(w, m, ae, 2, one, 1)
    for i in range(21):
        m = replace_all(w, m, TL_FROM[i], TL_FROM_N[i], TL_TO[i], TL_TO_N[i])
    o = 0
    for i in range(m):  # doubled letters once
        if o == 0 or w[o - 1] != w[i]:
            w[o] = w[i]
            o += 1
    return o


def translit_ascii(str word):
    """kernel.translit_ascii (ASCII words only)."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(word), i
    cdef uint32_t tok[WBUF]
    cdef uint32_t w[WBUF]
    if not word.isascii() or n > WBUF:
        raise ValueError("an ASCII word of at most 256 characters")
    for i in range(n):
        tok[i] = ord(word[i])
    n = translit_into(tok, n, w)
    return "".join([chr(w[i]) for i in range(n)])


cdef StrMap freq_table(freq, int least):
    """A word list (word -> frequency, each at least ``least``) as a table: a :class:`StrMap`
    itself (shared, not copied: the English list is megabytes), else a new one."""
    cdef StrMap got
    if isinstance(freq, StrMap):
        got = freq
        if least > 0 and got.count and min(got.values()) < least:
            raise ValueError("frequencies must be positive")
        return got
    got = StrMap()
    for k, v in freq.items():
        if not least <= v < 2 ** 31:
            raise ValueError("frequencies must be positive 32-bit integers" if least else
                             "frequencies must be 32-bit integers")
        got.set(k, v)
    return got


@cython.final
cdef class NameTables:
    """What the compiled scanner needs to describe an ASCII word without calling Python (the
    data the gazetteer pass's ``describe`` reads; tests/test_kernel.py checks they agree)."""

    cdef StrMap given, surnames, names, freq, neighbours, acronyms
    cdef int near_min, near_freq, group_min, group_freq

    def __init__(self, given, surnames, names, freq, neighbour_keys, acronyms, int near_min, int near_freq,
                 int group_min, int group_freq):
        """``given``, ``surnames``: lowercase; ``names``, ``acronyms``: as written; ``freq``:
        the English word list (lowercase -> frequency); ``neighbour_keys``: every deletion of
        every known surname's translit key (and the key)."""
        self.given = StrMap((w, 1) for w in given)
        self.surnames = StrMap((w, 1) for w in surnames)
        self.names = StrMap((w, 1) for w in names)
        self.freq = freq_table(freq, 0)
        self.neighbours = StrMap((w, 1) for w in neighbour_keys)
        self.acronyms = StrMap((w, 1) for w in acronyms)
        self.near_min, self.near_freq, self.group_min, self.group_freq = near_min, near_freq, group_min, group_freq

    cdef bint near(self, uint32_t* key, Py_ssize_t n) noexcept:
        """Whether the key, or the key with one letter deleted, is a surname's."""
        cdef uint32_t d[WBUF]
        cdef Py_ssize_t i, j, m
        if sm_get(self.neighbours, <const uint32_t*>key, 0, n) >= 0:
            return True
        for i in range(n):
            m = 0
            for j in range(n):
                if j != i:
                    d[m] = key[j]
                    m += 1
            if sm_get(self.neighbours, <const uint32_t*>d, 0, n - 1) >= 0:
                return True
        return False


cdef int groups_of(IBuf* toks, Py_ssize_t ntok, IBuf* bits, IBuf* key_ids, list groups) except -1:
    cdef Py_ssize_t cap = 16, t, slot
    cdef int64_t* table  # per slot: key, first entry, 1 if another entry shares the key
    cdef int32_t ent, key
    while cap < 2 * ntok + 2:
        cap *= 2
    table = <int64_t*>malloc(3 * cap * sizeof(int64_t))
    if table == NULL:
        raise MemoryError()
    try:
        for slot in range(cap):
            table[3 * slot] = -1
        for t in range(ntok):
            ent = toks.p[4 * t + 2]
            if not bits.p[ent] & N_GROUP:
                continue
            key = key_ids.p[ent]
            slot = <Py_ssize_t>(mix(<uint64_t>key) & (cap - 1))
            while table[3 * slot] >= 0 and table[3 * slot] != key:
                slot = (slot + 1) & (cap - 1)
            if table[3 * slot] < 0:
                table[3 * slot] = key
                table[3 * slot + 1] = ent
                table[3 * slot + 2] = 0
            elif table[3 * slot + 1] != ent:
                table[3 * slot + 2] = 1
        for t in range(ntok):
            ent = toks.p[4 * t + 2]
            if not bits.p[ent] & N_GROUP:
                continue
            key = key_ids.p[ent]
            slot = <Py_ssize_t>(mix(<uint64_t>key) & (cap - 1))
            while table[3 * slot] != key:
                slot = (slot + 1) & (cap - 1)
            if table[3 * slot + 2]:
                groups.extend((toks.p[4 * t], toks.p[4 * t + 1], key))
    finally:
        free(table)
    return 0


@cython.final
cdef class NameScanner:
    """See kernel.NameScanner. With NameTables, ASCII words are described here."""

    cdef readonly object describe
    cdef NameTables tables
    cdef StrMap seen  # word -> entry
    cdef StrMap keys  # translit key -> number
    cdef IBuf bits, key_ids
    cdef public Py_ssize_t max_entries

    def __init__(self, describe, NameTables tables=None, Py_ssize_t max_entries=100_000):
        self.describe = describe
        self.tables = tables
        self.seen = StrMap()
        self.keys = StrMap()
        self.max_entries = max_entries

    def __dealloc__(self):
        ibuf_free(&self.bits)
        ibuf_free(&self.key_ids)

    cdef int fast(self, uint32_t* w, Py_ssize_t n, int32_t* out) except -1:
        cdef NameTables T = self.tables
        cdef uint32_t low[WBUF]
        cdef uint32_t key[WBUF]
        cdef Py_ssize_t i, m
        cdef int32_t bits = 0, f
        cdef bint caps = n >= 3 and w[n - 1] == 115
        for i in range(n):
            low[i] = w[i] + 32 if 65 <= w[i] <= 90 else w[i]
            if i < n - 1 and not 65 <= w[i] <= 90:
                caps = False
        if sm_get(T.given, <const uint32_t*>low, 0, n) >= 0:
            bits |= N_GIVEN
        if sm_get(T.surnames, <const uint32_t*>low, 0, n) >= 0:
            bits |= N_SURNAME
        f = sm_get(T.freq, <const uint32_t*>low, 0, n)
        if f < 0:
            f = 0
        out[1] = -1
        m = -1  # the translit key's length, once it is made
        if n >= T.near_min and f < T.near_freq and sm_get(T.names, <const uint32_t*>w, 0, n) < 0:
            m = translit_into(w, n, key)
            if T.near(key, m):
                bits |= N_NEAR
        if n >= T.group_min and f < T.group_freq:
            bits |= N_GROUP
            if m < 0:
                m = translit_into(w, n, key)
            out[1] = sm_intern(self.keys, <const uint32_t*>key, 0, m)
        if caps and sm_get(T.acronyms, <const uint32_t*>w, 0, n - 1) >= 0:
            bits |= N_PLURAL
        out[0] = bits
        return 1

    def word(self, str w):
        """(bits, key number) of a word (tests)."""
        cdef int kind = PyUnicode_KIND(w)
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(w)
        cdef int32_t k
        if kind == 1:
            k = ns_entry(self, w, <uint8_t*>PyUnicode_DATA(w), 0, n)
        elif kind == 2:
            k = ns_entry(self, w, <uint16_t*>PyUnicode_DATA(w), 0, n)
        else:
            k = ns_entry(self, w, <uint32_t*>PyUnicode_DATA(w), 0, n)
        return self.bits.p[k], self.key_ids.p[k]

    def scan(self, str text):
        cdef int kind = PyUnicode_KIND(text)
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
        pairs, near, groups, plurals = [], [], [], []
        if self.seen.count >= self.max_entries:
            self.seen.clear()
            self.keys.clear()
            self.bits.n = self.key_ids.n = 0
        if kind == 1:
            ns_scan(self, text, <uint8_t*>PyUnicode_DATA(text), n, pairs, near, groups, plurals)
        elif kind == 2:
            ns_scan(self, text, <uint16_t*>PyUnicode_DATA(text), n, pairs, near, groups, plurals)
        else:
            ns_scan(self, text, <uint32_t*>PyUnicode_DATA(text), n, pairs, near, groups, plurals)
        return pairs, near, groups, plurals


cdef int32_t ns_entry(NameScanner ns, str text, const chr_t* d, Py_ssize_t s, Py_ssize_t e) except -1:
    cdef Key k
    cdef int32_t got, ent[2]
    cdef uint32_t buf[WBUF]
    cdef Py_ssize_t i
    cdef bint ascii
    key_of(d, s, e, &k)
    got = sm_find(ns.seen, d, s, e, &k)
    if got >= 0:
        return got
    ascii = ns.tables is not None and e - s <= WBUF
    if ascii:
        for i in range(e - s):
            buf[i] = d[s + i]
            if buf[i] >= 128:
                ascii = False
                break
    if ascii:
        ns.fast(buf, e - s, ent)
    else:
        b, key_s = ns.describe(PyUnicode_Substring(text, s, e))
        ent[0] = <int32_t>b
        ent[1] = -1 if key_s is None else sm_intern_str(ns.keys, key_s)
    got = <int32_t>ns.seen.count
    ibuf_push(&ns.bits, ent[0])
    ibuf_push(&ns.key_ids, ent[1])
    sm_add(ns.seen, d, s, e, &k, got)
    return got


cdef int ns_scan(NameScanner ns, str text, const chr_t* d, Py_ssize_t n, list pairs, list near, list groups,
                 list plurals) except -1:
    cdef int tk
    cdef Py_ssize_t i = 0, j, e2, t, ntok
    cdef IBuf toks  # start, end (no possessive), entry, stripped
    cdef int32_t b, b2, ent
    cdef uint32_t c
    toks.p = NULL
    toks.n = toks.cap = 0
    try:
        while i < n:
            if is_space(d[i]):
                i += 1
                continue
            j = token_end(d, i, n, &tk)
            if tk == WORD and j - i >= 2 and is_upper(d[i]) \
                    and (i == 0 or not is_alnum(d[i - 1])) and (j == n or not is_alnum(d[j])):
                e2 = j
                if j - i > 3:
                    c = d[j - 2]
                    if (c == 39 or c == 0x2019) and (d[j - 1] == 115 or d[j - 1] == 83):
                        e2 = j - 2
                ent = ns_entry(ns, text, d, i, e2)
                ibuf_reserve(&toks, 4)
                toks.p[toks.n] = <int32_t>i
                toks.p[toks.n + 1] = <int32_t>e2
                toks.p[toks.n + 2] = ent
                toks.p[toks.n + 3] = 1 if e2 != j else 0
                toks.n += 4
            i = j
        ntok = toks.n // 4
        for t in range(ntok):
            b = ns.bits.p[toks.p[4 * t + 2]]
            if t + 1 < ntok:
                b2 = ns.bits.p[toks.p[4 * t + 6]]
                if (b & N_GIVEN or b2 & N_SURNAME) and toks.p[4 * t + 4] == toks.p[4 * t + 1] + 1 \
                        and d[toks.p[4 * t + 1]] == 32:
                    pairs.extend((toks.p[4 * t], toks.p[4 * t + 1], toks.p[4 * t + 4], toks.p[4 * t + 5]))
            if b & N_NEAR:
                if t:
                    near.extend((toks.p[4 * t], toks.p[4 * t + 1], toks.p[4 * t - 4], toks.p[4 * t - 3]))
                else:
                    near.extend((toks.p[4 * t], toks.p[4 * t + 1], -1, -1))
            if b & N_PLURAL and not toks.p[4 * t + 3]:
                i, j = toks.p[4 * t], toks.p[4 * t + 1]
                if (i == 0 or (d[i - 1] != 95 and d[i - 1] != 45)) and (j == n or (
                        d[j] != 95 and d[j] != 45 and d[j] != 39 and d[j] != 0x2019)):
                    plurals.extend((i, j))
        # GROUP words whose key another GROUP word spelt differently shares: per key, the
        # first word seen and whether another came (a table of the document's keys)
        groups_of(&toks, ntok, &ns.bits, &ns.key_ids, groups)
    finally:
        ibuf_free(&toks)
    return 0


# -- the lexicon --------------------------------------------------------------------------------------


@cython.final
cdef class Vocabulary:
    """What the compiled lexicon needs to describe an ASCII token without calling Python: the
    same tables the Python ``describe`` reads (the flagger builds both from one set of data;
    tests/test_kernel.py checks that they agree on every token)."""

    cdef StrMap ids  # lowercase word -> fluency id
    cdef int32_t id_cap, id_acr, id_hyph, id_w, id_num, id_year, id_other, id_poss
    cdef SList suffixes  # longest first
    cdef IBuf suffix_ids  # the fluency id of each suffix
    cdef int32_t punct[128]  # ASCII punctuation -> fluency id (-1: "<p>")
    cdef StrMap freq  # lowercase word -> frequency
    cdef int32_t rare_freq
    cdef StrMap particles
    cdef SList prefixes  # in order
    cdef StrMap prefix_set
    cdef SList gb_endings, us_endings  # British endings and the American ones, in order
    cdef StrMap low_bits  # lowercase word -> structure bits
    cdef StrMap midcap  # word -> MIDCAP
    cdef uint8_t opener[128]
    cdef uint8_t clause[128]

    def __init__(self, ids, classes, suffixes, punct, freq, int rare_freq, particles, prefixes, british,
                 low_bits, midcap, openers, clause):
        """``classes``: the fluency ids of <Cap>, <ACR>, <hyph>, <w>, <num>, <year>, <p>, 's;
        ``suffixes``: (suffix, id) longest first; ``punct``: token -> id; ``freq``: the English
        word list (lowercase -> frequency, all positive); ``low_bits``: lowercase word -> the
        structure bits; ``midcap``: words with the MIDCAP bit; ``openers``, ``clause``: marks."""
        self.ids = StrMap(ids)
        self.id_cap, self.id_acr, self.id_hyph, self.id_w, self.id_num, self.id_year, self.id_other, self.id_poss = classes
        for a, b in suffixes:
            slist_add(&self.suffixes, str(a))
            ibuf_push(&self.suffix_ids, <int32_t>int(b))
        for c in range(128):
            self.punct[c] = -1
            self.opener[c] = 0
            self.clause[c] = 0
        for k, v in punct.items():
            if len(k) == 1 and ord(k) < 128:
                self.punct[ord(k)] = v
        self.freq = freq_table(freq, 1)
        self.rare_freq = rare_freq
        self.particles = StrMap((w, 1) for w in particles)
        for x in prefixes:
            slist_add(&self.prefixes, str(x))
        self.prefix_set = StrMap((w, 1) for w in prefixes)
        for a, b in british:
            slist_add(&self.gb_endings, str(a))
            slist_add(&self.us_endings, str(b))
        self.low_bits = StrMap(low_bits)
        self.midcap = StrMap((w, 1) for w in midcap)
        for c in openers:
            if len(c) == 1 and ord(c) < 128:
                self.opener[ord(c)] = 1
        for c in clause:
            if len(c) == 1 and ord(c) < 128:
                self.clause[ord(c)] = 1

    def __dealloc__(self):
        slist_free(&self.suffixes)
        ibuf_free(&self.suffix_ids)
        slist_free(&self.prefixes)
        slist_free(&self.gb_endings)
        slist_free(&self.us_endings)

    cdef inline int32_t lookup(self, StrMap m, uint32_t* w, Py_ssize_t s, Py_ssize_t e) noexcept:
        return sm_get(m, <const uint32_t*>w, s, e)

    cdef int32_t token_id(self, uint32_t* tok, uint32_t* low, Py_ssize_t n) noexcept:
        """FluencyModel.token_id of an ASCII word (``low``: it lowercased)."""
        cdef int32_t i = self.lookup(self.ids, low, 0, n)
        cdef Py_ssize_t k, m
        cdef bint upper, lower
        if i >= 0:
            return i
        if 65 <= tok[0] <= 90:  # word_class: capitalised
            if n > 1:
                upper = False
                lower = False
                for k in range(n):
                    if 65 <= tok[k] <= 90:
                        upper = True
                    elif 97 <= tok[k] <= 122:
                        lower = True
                if upper and not lower:
                    return self.id_acr
            return self.id_cap
        for k in range(n):
            if tok[k] == 45:
                return self.id_hyph
        for k in range(slist_len(&self.suffixes)):
            m = self.suffixes.off.p[k + 1] - self.suffixes.off.p[k]
            if n > m + 2 and slist_ends(&self.suffixes, k, tok, n):
                return self.suffix_ids.p[k]
        return self.id_w

    cdef int64_t plain(self, uint32_t* w, Py_ssize_t s, Py_ssize_t e) noexcept:
        """The word list's frequency of w[s:e] (0: not listed)."""
        cdef int32_t f = self.lookup(self.freq, w, s, e)
        return f if f > 0 else 0

    cdef int64_t frequency(self, uint32_t* low, Py_ssize_t n) except -1:
        """OovSignal.freq of an ASCII lowercase word."""
        cdef int32_t f0 = self.lookup(self.freq, low, 0, n)
        cdef int64_t f, g, best
        cdef Py_ssize_t k, a, m, gl, ul, j, q
        cdef uint32_t buf[WBUF]
        cdef bint any_part, found_our, found_ae
        if f0 > 0:
            return f0
        f = self.rare_freq if self.lookup(self.particles, low, 0, n) >= 0 else 0
        if not f and n >= 2 and low[n - 2] == 39 and low[n - 1] == 115:  # 's
            f = self.frequency(low, n - 2)
        if not f:
            for k in range(n):
                if low[k] == 45:
                    break
            else:
                k = -1
            if k >= 0:  # the rarest of the parts that are not prefixes
                any_part = False
                best = 0
                a = 0
                for k in range(n + 1):
                    if k == n or low[k] == 45:
                        if k > a and self.lookup(self.prefix_set, low, a, k) < 0:
                            for j in range(k - a):
                                buf[j] = low[a + j]
                            g = self.frequency(buf, k - a)
                            if not any_part or g < best:
                                best = g
                            any_part = True
                        a = k + 1
                f = best if any_part else 0
        if not f:  # British spellings, as American ones
            best = 0
            for k in range(slist_len(&self.gb_endings)):
                gl = self.gb_endings.off.p[k + 1] - self.gb_endings.off.p[k]
                ul = self.us_endings.off.p[k + 1] - self.us_endings.off.p[k]
                if n > gl + 2 and slist_ends(&self.gb_endings, k, low, n) and n - gl + ul <= WBUF:
                    for j in range(n - gl):
                        buf[j] = low[j]
                    for j in range(ul):
                        buf[n - gl + j] = <uint32_t>self.us_endings.chars.p[self.us_endings.off.p[k] + j]
                    g = self.plain(buf, 0, n - gl + ul)
                    if g > best:
                        best = g
            # "our" -> "or" everywhere (favourite, colourful)
            m = 0
            j = 0
            found_our = False
            while j < n:
                if j + 2 < n and low[j] == 111 and low[j + 1] == 117 and low[j + 2] == 114:
                    buf[m] = 111
                    buf[m + 1] = 114
                    m += 2
                    j += 3
                    found_our = True
                else:
                    buf[m] = low[j]
                    m += 1
                    j += 1
            if found_our:
                g = self.plain(buf, 0, m)
                if g > best:
                    best = g
            # "ae" -> "e", then "oe" -> "e"
            found_ae = False
            for j in range(n - 1):
                if (low[j] == 97 or low[j] == 111) and low[j + 1] == 101:
                    found_ae = True
                    break
            if found_ae:
                m = 0
                j = 0
                while j < n:
                    if j + 1 < n and low[j] == 97 and low[j + 1] == 101:
                        buf[m] = 101
                        m += 1
                        j += 2
                    else:
                        buf[m] = low[j]
                        m += 1
                        j += 1
                q = 0
                j = 0
                while j < m:
                    if j + 1 < m and buf[j] == 111 and buf[j + 1] == 101:
                        buf[q] = 101
                        q += 1
                        j += 2
                    else:
                        buf[q] = buf[j]
                        q += 1
                        j += 1
                g = self.plain(buf, 0, q)
                if g > best:
                    best = g
            f = best
        if not f:  # a common prefix glued to a word
            for k in range(slist_len(&self.prefixes)):
                m = self.prefixes.off.p[k + 1] - self.prefixes.off.p[k]
                if n - m >= 3 and slist_starts(&self.prefixes, k, low, n):
                    f = self.plain(low, m, n)
                    if f:
                        break
        return f


@cython.final
cdef class Lexicon:
    """token -> entry (bits, fluency code, lowercase id, non-Latin characters); see kernel.py.
    With a :class:`Vocabulary`, ASCII tokens are described here; others by ``describe``."""

    cdef StrMap table
    cdef StrMap lows
    cdef readonly object describe
    cdef public Py_ssize_t max_entries
    cdef IBuf ents  # per entry, one after the other: bits, fluency code, low id, non-Latin characters
    cdef Vocabulary vocab
    cdef StrMap skip
    cdef Py_ssize_t kept  # the entries kept when the table starts afresh (table and lows: marked then)

    def __init__(self, describe, Py_ssize_t max_entries=100_000, Vocabulary vocabulary=None, skip=()):
        self.describe = describe
        self.max_entries = max_entries
        self.kept = 0
        self.table = StrMap()
        self.lows = StrMap()
        self.vocab = vocabulary
        self.skip = StrMap((w, 1) for w in skip)

    def __dealloc__(self):
        ibuf_free(&self.ents)

    def __len__(self):
        return self.table.count

    def fresh(self):
        """Before a document: start afresh when the table is full, back to the seeded entries."""
        if self.table.count < self.max_entries:
            return
        if 2 * self.kept <= self.max_entries:
            self.table.back_to_mark()
            self.lows.back_to_mark()
        else:  # (seeded after more than half the table had filled: nothing kept)
            self.table.clear()
            self.lows.clear()
        self.ents.n = 4 * self.table.count

    def seed(self, tokens):
        """Describe ``tokens`` now (see kernel.py); a table that starts afresh keeps them."""
        for tok in list(dict.fromkeys(t for t in tokens if t))[: self.max_entries // 2]:
            self.entry(tok)
        self.kept = self.table.count
        self.table.mark()
        self.lows.mark()

    cdef int32_t low_id(self, object low) except -2:
        if low is None:
            return -1
        return sm_intern_str(self.lows, low)

    cdef int fast(self, uint32_t* tok, Py_ssize_t n, int32_t* out) except -1:
        """The entry of an ASCII token, as Python's describe gives it (``out``: bits, code,
        low id, non-Latin characters); 0 when it is left to Python."""
        cdef Vocabulary V = self.vocab
        cdef uint32_t c = tok[0]
        cdef uint32_t low[WBUF]
        cdef Py_ssize_t k
        cdef int32_t bits, code, f0
        cdef int64_t f
        cdef bint plain = True, upper_rest = False
        if n > WBUF:
            return 0
        out[3] = 0
        if ASCII[c] & C_DIGIT:
            out[0] = NUMBER
            out[1] = V.id_year if n == 4 and tok[0] == 49 and tok[1] == 57 or n == 4 and tok[0] == 50 and tok[1] == 48 else V.id_num
            out[2] = -1
            return 1
        if not ASCII[c] & C_LETTER:
            out[0] = (OPENER if V.opener[c] else 0) | (CLAUSE if V.clause[c] else 0)
            out[1] = V.punct[c] if n == 1 and V.punct[c] >= 0 else V.id_other
            out[2] = -1
            return 1
        for k in range(n):
            c = tok[k]
            low[k] = c + 32 if 65 <= c <= 90 else c
            if c == 39 or c == 45:
                plain = False
            if k and 65 <= c <= 90:
                upper_rest = True
        # the fluency code: the id, or ~id of the word of a possessive
        if n > 2 and tok[n - 2] == 39 and tok[n - 1] == 115:
            code = ~V.token_id(tok, low, n - 2)
        else:
            code = V.token_id(tok, low, n)
        f = V.frequency(low, n)
        bits = WORD
        f0 = V.lookup(V.low_bits, low, 0, n)
        if f0 > 0:
            bits |= f0
        if V.lookup(V.midcap, tok, 0, n) >= 0:
            bits |= MIDCAP
        c = tok[0]
        if 65 <= c <= 90:
            bits |= UPPER
        else:
            bits |= LOWER0 | AZ_FIRST
        if n >= 2:
            bits |= LONG
        if sm_get(self.skip, <const uint32_t*>low, 0, n) < 0:
            bits |= KEPT
        if not f:
            bits |= UNKNOWN
        elif f < V.rare_freq:
            bits |= RARE
        if upper_rest:
            bits |= UPPER_REST
        if plain:
            bits |= PLAIN
        if 97 <= tok[n - 1] <= 122:
            bits |= AZ_LAST
        out[0] = bits
        out[1] = code
        out[2] = sm_intern(self.lows, <const uint32_t*>low, 0, n)
        return 1

    def entry(self, str tok):
        """The entry of a token (looked up, or described now)."""
        cdef int kind = PyUnicode_KIND(tok)
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(tok)
        cdef int32_t k
        if kind == 1:
            k = lex_lookup(self, tok, <uint8_t*>PyUnicode_DATA(tok), 0, n)
        elif kind == 2:
            k = lex_lookup(self, tok, <uint16_t*>PyUnicode_DATA(tok), 0, n)
        else:
            k = lex_lookup(self, tok, <uint32_t*>PyUnicode_DATA(tok), 0, n)
        return (self.ents.p[4 * k], self.ents.p[4 * k + 1], self.ents.p[4 * k + 2], self.ents.p[4 * k + 3])


cdef inline int32_t lex_lookup(Lexicon lx, str text, const chr_t* d, Py_ssize_t s, Py_ssize_t e) except -1:
    """The entry of the token d[s:e] (of ``text``), described on first sight."""
    cdef Key key
    key_of(d, s, e, &key)
    return lex_lookup_key(lx, text, d, s, e, &key)


cdef inline int32_t lex_lookup_key(Lexicon lx, str text, const chr_t* d, Py_ssize_t s, Py_ssize_t e, Key* key) except -1:
    """lex_lookup, the key already hashed (key_of)."""
    cdef int32_t got = sm_find(lx.table, d, s, e, key)
    if got >= 0:
        return got
    return lex_new(lx, text, d, s, e, key)


cdef inline Py_ssize_t lex_ahead(Lexicon lx, const chr_t* d, Py_ssize_t j, Py_ssize_t e, Py_ssize_t* te,
                                 Key* key) noexcept:
    """The next token of d[j:e] (its start, returned, and end ``te``), hashed into ``key``, with
    the slot its lookup will read first asked for now (the table is megabytes); e when none."""
    cdef int tk
    while j < e and is_space(d[j]):
        j += 1
    if j < e:
        te[0] = token_end(d, j, e, &tk)
        key_of(d, j, te[0], key)
        normalize_prefetch(&lx.table.slots[<Py_ssize_t>(key.h & <uint64_t>(lx.table.cap - 1))])
    return j


cdef int32_t lex_new(Lexicon lx, str text, const chr_t* d, Py_ssize_t s, Py_ssize_t e, Key* key) except -1:
    cdef int32_t got, ent[4]
    cdef uint32_t buf[WBUF]
    cdef Py_ssize_t k
    cdef bint ascii = lx.vocab is not None and e - s <= WBUF
    if ascii:
        for k in range(e - s):
            buf[k] = d[s + k]
            if buf[k] >= 128:
                ascii = False
                break
    if ascii and lx.fast(buf, e - s, ent):
        b, code, low_id, nl = ent[0], ent[1], ent[2], ent[3]
    else:
        b, code, low, nl = lx.describe(PyUnicode_Substring(text, s, e))
        low_id = lx.low_id(low)
    got = <int32_t>lx.table.count
    ibuf_reserve(&lx.ents, 4)
    lx.ents.p[lx.ents.n] = <int32_t>b
    lx.ents.p[lx.ents.n + 1] = <int32_t>code
    lx.ents.p[lx.ents.n + 2] = <int32_t>low_id
    lx.ents.p[lx.ents.n + 3] = <int32_t>nl
    lx.ents.n += 4
    sm_add(lx.table, d, s, e, key, got)
    return got


# -- the models ----------------------------------------------------------------------------------------
cdef struct NSlot:
    int64_t key  # -1: empty
    int32_t a  # value under the english model
    int32_t b  # value under the bad-MT model


DEF PREFETCH_AHEAD = 6  # positions the n-gram lookups are asked for ahead of their use
DEF MISSING = -2147483648  # a model that does not list the n-gram (filled in when building)


DEF BLOOM_BITS = 16  # bits of the filter per n-gram


@cython.final
cdef class NTable:
    """n-gram code -> (english value, bad-MT value), open addressing, behind a Bloom filter.

    The table is megabytes, so a lookup is a cache miss, and most lookups are of n-grams the
    models do not list (a trigram backs off). The filter (BLOOM_BITS bits per n-gram, two bits
    in one 64-bit word) is a few hundred kB, and answers most of those without touching the
    table: it never turns away a listed n-gram, so results are the same with or without it."""

    cdef NSlot* slots
    cdef Py_ssize_t cap
    cdef Py_ssize_t count
    cdef uint64_t* bloom  # NULL until seal()
    cdef uint64_t bmask

    def __cinit__(self, Py_ssize_t n=0):
        cdef Py_ssize_t cap = 16, i
        self.bloom = NULL
        self.bmask = 0
        while cap < 2 * n + 2:
            cap *= 2
        self.slots = <NSlot*>normalize_big_alloc(cap * sizeof(NSlot))
        if self.slots == NULL:
            raise MemoryError()
        for i in range(cap):
            self.slots[i].key = -1
        self.cap = cap
        self.count = 0

    def __dealloc__(self):
        free(self.slots)
        free(self.bloom)

    cdef int seal(self) except -1:
        """Build the filter from the keys (after the last put: a key put later would be missed)."""
        cdef Py_ssize_t words = 1, i
        cdef uint64_t h
        while words * 64 < self.count * BLOOM_BITS:
            words *= 2
        free(self.bloom)
        self.bloom = <uint64_t*>malloc(words * sizeof(uint64_t))
        if self.bloom == NULL:
            raise MemoryError()
        memset(self.bloom, 0, words * sizeof(uint64_t))
        self.bmask = words - 1
        for i in range(self.cap):
            if self.slots[i].key >= 0:
                h = mix(<uint64_t>self.slots[i].key)
                # the word from the high bits, the two bits from the middle ones; the slot is
                # the low bits (in a table of up to 2**20 slots, none of the filter's)
                self.bloom[(h >> 32) & self.bmask] |= (1ULL << ((h >> 20) & 63)) | (1ULL << ((h >> 26) & 63))
        return 0

    cdef inline bint maybe(self, uint64_t h) noexcept:
        """Whether the key hashed to h may be in the table (always True before seal())."""
        cdef uint64_t w
        if self.bloom == NULL:
            return True
        w = self.bloom[(h >> 32) & self.bmask]
        return (w >> ((h >> 20) & 63)) & (w >> ((h >> 26) & 63)) & 1

    cdef inline void prefetch(self, int64_t key) noexcept:
        """Ask for the slot of key, if the filter lets it be there."""
        cdef uint64_t h = mix(<uint64_t>key)
        if self.maybe(h):
            normalize_prefetch(&self.slots[<Py_ssize_t>(h & <uint64_t>(self.cap - 1))])

    cdef inline NSlot* find(self, int64_t key) noexcept:
        cdef Py_ssize_t mask = self.cap - 1
        cdef uint64_t h = mix(<uint64_t>key)
        if not self.maybe(h):
            return NULL
        cdef Py_ssize_t i = <Py_ssize_t>(h & mask)
        while True:
            if self.slots[i].key == key:
                return &self.slots[i]
            if self.slots[i].key < 0:
                return NULL
            i = (i + 1) & mask

    cdef NSlot* put(self, int64_t key) except NULL:
        """The slot of key, made (both values MISSING) if absent; the table never grows past half full."""
        cdef Py_ssize_t mask = self.cap - 1
        cdef Py_ssize_t i = <Py_ssize_t>(mix(<uint64_t>key) & mask)
        while True:
            if self.slots[i].key == key:
                return &self.slots[i]
            if self.slots[i].key < 0:
                if (self.count + 1) * 2 > self.cap:
                    raise OverflowError("n-gram table sized too small")
                self.slots[i].key = key
                self.slots[i].a = MISSING
                self.slots[i].b = MISSING
                self.count += 1
                return &self.slots[i]
            i = (i + 1) & mask


@cython.final
cdef class Scorer:
    """The fluency models as integer tables, the combiner's weights, the foreign gate (see
    kernel.py: the same arguments). The two models' tables are merged: one lookup gives both
    values, a model that lacks an n-gram holding its backed-off value."""

    cdef NTable tri, bi, bow2
    cdef int32_t* uni
    cdef int32_t* bow1
    cdef readonly int64_t V
    cdef readonly int32_t scale, bos, eos, poss
    cdef double* weights
    cdef int32_t* term_index
    cdef int nterms
    cdef readonly double offset, gate_known, gate_non_latin
    cdef readonly int gate_min_words
    cdef double fire_gain, fire_style
    cdef int fire_min
    cdef bint fires

    def __cinit__(self, *args, **kwargs):
        self.uni = NULL
        self.bow1 = NULL
        self.weights = NULL
        self.term_index = NULL

    def __dealloc__(self):
        free(self.uni)
        free(self.bow1)
        free(self.weights)
        free(self.term_index)

    def __init__(self, models, int scale, int bos, int eos, int poss, terms, double offset, double gate_known,
                 double gate_non_latin, int gate_min_words, fire=None):
        if len(models) != 2:
            raise ValueError("two models: english, bad MT")
        en, mt = models
        cdef Py_ssize_t V = len(en["uni"]), m, v, w
        if len(mt["uni"]) != V or len(en["bow1"]) != V or len(mt["bow1"]) != V:
            raise ValueError("both models need one unigram and backoff value per id")
        self.V = V
        self.scale, self.bos, self.eos, self.poss = scale, bos, eos, poss
        self.uni = <int32_t*>malloc(2 * V * sizeof(int32_t))
        self.bow1 = <int32_t*>malloc(2 * V * sizeof(int32_t))
        if self.uni == NULL or self.bow1 == NULL:
            raise MemoryError()
        for m, model in enumerate(models):
            uni = np.asarray(model["uni"], dtype=np.int64)
            bow1 = np.asarray(model["bow1"], dtype=np.int64)
            for v in range(V):
                self.uni[m * V + v] = <int32_t>uni[v]
                self.bow1[m * V + v] = <int32_t>bow1[v]
        rows = {k: [np.asarray(model[k], dtype=np.int64).reshape(-1, width) for model in models]
                for k, width in (("tri", 4), ("bi", 3), ("bow2", 3))}
        self.bi = self._table(rows["bi"], 2)
        self.bow2 = self._table(rows["bow2"], 2)
        self.tri = self._table(rows["tri"], 3)
        cdef NSlot* s
        cdef int64_t key, ctx
        cdef Py_ssize_t i
        # fill in what a model lacks: its backed-off value (bigrams: bow1 + uni; contexts: 0;
        # trigrams: the context's weight + the bigram)
        for i in range(self.bi.cap):
            s = &self.bi.slots[i]
            if s.key >= 0:
                v, w = s.key // V, s.key % V
                if s.a == MISSING:
                    s.a = self.bow1[v] + self.uni[w]
                if s.b == MISSING:
                    s.b = self.bow1[V + v] + self.uni[V + w]
        for i in range(self.bow2.cap):
            s = &self.bow2.slots[i]
            if s.key >= 0:
                if s.a == MISSING:
                    s.a = 0
                if s.b == MISSING:
                    s.b = 0
        for i in range(self.tri.cap):
            s = &self.tri.slots[i]
            if s.key >= 0 and (s.a == MISSING or s.b == MISSING):
                ctx, w = s.key // V, s.key % V
                v = ctx % V
                if s.a == MISSING:
                    s.a = self.backoff(0, ctx, v, w)
                if s.b == MISSING:
                    s.b = self.backoff(1, ctx, v, w)
        self.tri.seal()
        self.bi.seal()
        self.bow2.seal()
        terms = list(terms)
        self.nterms = len(terms)
        self.weights = <double*>malloc(max(self.nterms, 1) * sizeof(double))
        self.term_index = <int32_t*>malloc(max(self.nterms, 1) * sizeof(int32_t))
        if self.weights == NULL or self.term_index == NULL:
            raise MemoryError()
        for i, (idx, weight) in enumerate(terms):
            if not 0 <= idx < NF:
                raise ValueError(f"no feature {idx}")
            self.term_index[i] = idx
            self.weights[i] = weight
        self.offset = offset
        self.gate_known, self.gate_non_latin, self.gate_min_words = gate_known, gate_non_latin, gate_min_words
        self.fires = fire is not None
        if self.fires:
            self.fire_gain, self.fire_style, self.fire_min = float(fire[0]), float(fire[1]), int(fire[2])

    cdef NTable _table(self, list rows, int width):
        cdef Py_ssize_t total = sum(len(r) for r in rows), i, j, m
        cdef NTable t = NTable(total)
        cdef int64_t key
        cdef NSlot* s
        cdef int64_t[:, :] r
        for m in range(2):
            r = rows[m]
            for i in range(r.shape[0]):
                key = r[i, 0]
                for j in range(1, width):
                    key = key * self.V + r[i, j]
                s = t.put(key)
                if m == 0:
                    s.a = <int32_t>r[i, width]
                else:
                    s.b = <int32_t>r[i, width]
        return t

    cdef int32_t backoff(self, int m, int64_t ctx, int64_t v, int64_t w) noexcept:
        """log10 p(w | u v) under model m for a trigram the model does not list."""
        cdef NSlot* b = self.bi.find(v * self.V + w)
        cdef NSlot* c = self.bow2.find(ctx)
        cdef int32_t bi, bow
        if b != NULL:
            bi = b.a if m == 0 else b.b
        else:
            bi = self.bow1[m * self.V + v] + self.uni[m * self.V + w]
        bow = 0 if c == NULL else (c.a if m == 0 else c.b)
        return bow + bi

    cdef inline void prefetch(self, int32_t* ids, Py_ssize_t n, Py_ssize_t pos) noexcept:
        """Ask for the slots :meth:`logprob2` will read at position ``pos`` of ``ids``: the
        tables are megabytes, so each lookup is a cache miss that can be started early."""
        if pos >= n:
            return
        cdef int64_t u = ids[pos - 2] if pos >= 2 else self.bos
        cdef int64_t v = ids[pos - 1] if pos >= 1 else self.bos
        cdef int64_t ctx = u * self.V + v, w = ids[pos]
        self.tri.prefetch(ctx * self.V + w)
        self.bi.prefetch(v * self.V + w)
        self.bow2.prefetch(ctx)

    cdef inline void logprob2(self, int64_t u, int64_t v, int64_t w, int32_t* en, int32_t* mt) noexcept:
        cdef int64_t ctx = u * self.V + v
        cdef NSlot* t = self.tri.find(ctx * self.V + w)
        cdef NSlot* b
        cdef NSlot* c
        if t != NULL:
            en[0] = t.a
            mt[0] = t.b
            return
        b = self.bi.find(v * self.V + w)
        c = self.bow2.find(ctx)
        if b != NULL:
            en[0] = b.a
            mt[0] = b.b
        else:
            en[0] = self.bow1[v] + self.uni[w]
            mt[0] = self.bow1[self.V + v] + self.uni[self.V + w]
        if c != NULL:
            en[0] += c.a
            mt[0] += c.b

    def logprob(self, int m, int u, int v, int w):
        """log10 p(w | u v) under model m (times scale), by backing off."""
        cdef int32_t en, mt
        self.logprob2(u, v, w, &en, &mt)
        return en if m == 0 else mt

    cdef inline double logit_of(self, double* f) noexcept:
        cdef double z = self.offset
        cdef int i
        for i in range(self.nterms):
            z += self.weights[i] * f[self.term_index[i]]
        return z

    def logit(self, feats):
        cdef double f[NF]
        cdef int i
        for i in range(NF):
            f[i] = feats[i]
        return self.logit_of(f)


cdef inline double sigmoid_of(double z) noexcept:
    cdef double e
    if z >= 0:
        return 1.0 / (1.0 + exp(-z))
    e = exp(z)
    return e / (1.0 + e)


def sigmoid(double z):
    return sigmoid_of(z)


# -- wording the reasons -------------------------------------------------------------------------------
@cython.final
cdef class Wording:
    """What Doc.wordings words reasons with: the Reason type, a function giving a token's raw
    pieces (fluency.raw_tokens), the templates (flagger.structure.TEMPLATES and the fluency
    reasons'), the quote characters."""

    cdef readonly object reason, pieces
    cdef readonly list fragment
    cdef readonly str doubled, phrase, unbalanced_quote, unbalanced_bracket, lowercase, midcap, fluency, mt_style
    cdef readonly str quotes
    cdef readonly dict punct  # a mark -> its raw token (fluency._PUNCT; others "<p>")
    cdef tuple fluency_parts, mt_style_parts  # the templates cut at their one "{}" (None: formatted)

    def __init__(self, reason, pieces, dict templates, str fluency, str mt_style, str quotes, dict punct):
        self.reason, self.pieces, self.punct = reason, pieces, punct
        self.fluency_parts, self.mt_style_parts = _one_slot(fluency), _one_slot(mt_style)
        self.fragment = [None, templates["fragment-1"], templates["fragment-2"], templates["fragment-3"]]
        self.doubled, self.phrase = templates["doubled"], templates["phrase"]
        self.unbalanced_quote, self.unbalanced_bracket = templates["unbalanced-quote"], templates["unbalanced-bracket"]
        self.lowercase, self.midcap = templates["lowercase-start"], templates["midsentence-capital"]
        self.fluency, self.mt_style = fluency, mt_style
        self.quotes = quotes


cdef tuple _one_slot(str template):
    """(before, after) of a template whose only replacement field is one "{}" (what
    ``template.format(x)`` joins x between), else None."""
    parts = template.split("{}")
    if len(parts) == 2 and "{" not in parts[0] + parts[1] and "}" not in parts[0] + parts[1]:
        return (parts[0], parts[1])
    return None


cdef inline str fill(tuple parts, str template, str x):
    """template.format(x), for a template :func:`_one_slot` cut into ``parts``."""
    if parts is None:
        return template.format(x)
    return <str>parts[0] + x + <str>parts[1]


cdef inline object reason_of(object R, str code, str message, object suggestion):
    """R(code, message, suggestion) for the Reason named tuple, made without calling it."""
    return tuple.__new__(R, (code, message, suggestion))


cdef class Reasoner  # (below: it words reasons of a Doc's sentences)


# -- measuring sentences ----------------------------------------------------------------------------------
@cython.final
cdef class Doc:
    """The kernel's measurements of one document (see kernel.py)."""

    cdef IBuf spans_  # start, end per sentence
    cdef IBuf toks  # start, end, bits, low per token
    cdef IBuf info_  # NI per sentence
    cdef double* feats
    cdef double* conf
    cdef Py_ssize_t nsent, cap
    cdef object _spans, _confidence

    def __cinit__(self):
        self.feats = NULL
        self.conf = NULL
        self.nsent = self.cap = 0

    def __dealloc__(self):
        ibuf_free(&self.spans_)
        ibuf_free(&self.toks)
        ibuf_free(&self.info_)
        free(self.feats)
        free(self.conf)

    cdef int reserve(self, Py_ssize_t n) except -1:
        cdef double* f
        cdef double* c
        if n <= self.cap:
            return 0
        f = <double*>realloc(self.feats, n * NF * sizeof(double))
        if f == NULL:
            raise MemoryError()
        self.feats = f
        c = <double*>realloc(self.conf, n * sizeof(double))
        if c == NULL:
            raise MemoryError()
        self.conf = c
        ibuf_reserve(&self.info_, n * NI - self.info_.n)
        self.cap = n
        return 0

    @property
    def spans(self):
        if self._spans is None:
            self._spans = [(self.spans_.p[2 * i], self.spans_.p[2 * i + 1]) for i in range(self.nsent)]
        return self._spans

    @property
    def confidence(self):
        if self._confidence is None:
            self._confidence = [self.conf[i] for i in range(self.nsent)]
        return self._confidence

    def features(self, Py_ssize_t i):
        if not 0 <= i < self.nsent:
            raise IndexError(i)
        return [self.feats[i * NF + k] for k in range(NF)]

    def info(self, Py_ssize_t i):
        cdef int32_t* p
        if not 0 <= i < self.nsent:
            raise IndexError(i)
        p = &self.info_.p[i * NI]
        return (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16], p[17], p[18], p[19], p[20])  # (NI values: a tuple literal, built in C)

    def token(self, Py_ssize_t k):
        if not 0 <= k < self.toks.n // 4:
            raise IndexError(k)
        return (self.toks.p[4 * k], self.toks.p[4 * k + 1], self.toks.p[4 * k + 2], self.toks.p[4 * k + 3])

    def __len__(self):
        return self.nsent

    def oov(self, Py_ssize_t i):
        """Flat [start, end, ...] of the tokens of sentence i the oov reason names."""
        cdef Py_ssize_t k, lo, hi
        cdef int32_t b
        if not 0 <= i < self.nsent:
            raise IndexError(i)
        lo, hi = self.info_.p[i * NI], self.info_.p[i * NI + 1]
        out = []
        for k in range(lo, hi):
            b = self.toks.p[4 * k + 2]
            if b & (WORD | KEPT | LONG | UNKNOWN | UPPER) == (WORD | KEPT | LONG | UNKNOWN):
                out.append(self.toks.p[4 * k])
                out.append(self.toks.p[4 * k + 1])
        return out

    def texts(self, str text, Py_ssize_t k1, Py_ssize_t k2):
        """The texts of tokens k1 to k2 (excluded) of text, the document measured."""
        cdef Py_ssize_t k
        if not 0 <= k1 <= k2 <= self.toks.n // 4:
            raise IndexError((k1, k2))
        return [PyUnicode_Substring(text, self.toks.p[4 * k], self.toks.p[4 * k + 1]) for k in range(k1, k2)]

    def wordings(self, Py_ssize_t i, str text, Wording w, bint detail):
        """The structure reasons of sentence i of text (the document measured), and with
        ``detail`` the fluency reasons that fire, worded from w's templates: what
        flagger.structure.reasons and FluencyModel.reason give, in their order."""
        if not 0 <= i < self.nsent:
            raise IndexError(i)
        return self._wordings(i, text, w, detail)

    cdef list _wordings(self, Py_ssize_t i, str text, Wording w, bint detail):
        cdef int32_t* info
        cdef int32_t* T = self.toks.p
        cdef Py_ssize_t lo, hi, k, n
        info = &self.info_.p[i * NI]
        lo, hi = info[0], info[1]
        R = w.reason
        out = []
        if info[3]:  # fragment
            for k in range(lo, hi):
                if T[4 * k + 2] & WORD:
                    out.append(reason_of(R, "fragment", w.fragment[info[3]].format(
                        PyUnicode_Substring(text, T[4 * k], T[4 * k + 1])), None))
                    break
        if info[4] >= 0:  # a doubled word
            k = info[4]
            out.append(reason_of(R, "repetition", w.doubled.format(PyUnicode_Substring(text, T[4 * k], T[4 * k + 5])),
                                 PyUnicode_Substring(text, T[4 * k], T[4 * k + 1])))
        if info[5] >= 0:  # a phrase said twice
            words = [k for k in range(lo, hi) if T[4 * k + 2] & WORD][info[5] : info[5] + info[6]]
            gram = " ".join([PyUnicode_Substring(text, T[4 * k], T[4 * k + 1]).lower().replace("’", "'") for k in words])
            out.append(reason_of(R, "repetition", w.phrase.format(gram), None))
        if info[7]:  # an unbalanced mark
            ch = chr(info[7])
            out.append(reason_of(R, "unbalanced", (w.unbalanced_quote if ch in w.quotes else w.unbalanced_bracket).format(ch),
                                 None))
        if info[8] >= 0:
            k = info[8]
            out.append(reason_of(R, "lowercase-start", w.lowercase.format(
                PyUnicode_Substring(text, T[4 * k], T[4 * k + 1])), None))
        if info[9] >= 0:
            k = info[9]
            word = PyUnicode_Substring(text, T[4 * k], T[4 * k + 1])
            out.append(reason_of(R, "midsentence-capital", w.midcap.format(
                PyUnicode_Substring(text, T[4 * k - 4], T[4 * k - 3]), word,
                PyUnicode_Substring(text, T[4 * k + 4], T[4 * k + 5])), word.lower()))
        if detail and info[19]:
            if info[19] & 1:
                out.append(reason_of(R, "fluency", fill(w.fluency_parts, w.fluency, self.quote(text, info, 15, w)), None))
            if info[19] & 2:
                out.append(reason_of(R, "mt-style", fill(w.mt_style_parts, w.mt_style, self.quote(text, info, 17, w)),
                                     None))
        return out

    cdef str quote(self, str text, int32_t* info, int at, Wording w):
        """The quoted window info[at:at + 2] (positions of the sentence's raw tokens), its class
        names ("<num>") left out unless there is nothing else."""
        cdef Py_ssize_t a = info[at], b = info[at + 1], lo = info[0], k
        cdef int32_t* T = self.toks.p
        cdef int32_t bits
        cdef list got = []
        cdef str x
        cdef bint classes = False  # a class name was quoted
        pieces, punct = w.pieces, w.punct
        if not info[14]:  # no possessive: a token is one raw token
            for k in range(lo + a, lo + b):
                tok = PyUnicode_Substring(text, T[4 * k], T[4 * k + 1])
                bits = T[4 * k + 2]
                if bits & WORD:  # a word: as written, with ' for ’ (a word never begins with "<")
                    got.append(tok.replace("\u2019", "'") if "\u2019" in tok else tok)
                    continue
                if bits & NUMBER:  # "<num>" or "<year>"
                    x = pieces(tok)[0]
                else:  # a mark
                    x = punct.get(tok, "<p>")
                got.append(x)
                if not x or PyUnicode_READ_CHAR(x, 0) == 60:
                    classes = True
            if not classes:
                return " ".join(got)
        else:
            for k in range(lo, info[1]):
                got.extend(pieces(PyUnicode_Substring(text, T[4 * k], T[4 * k + 1])))
                if len(got) >= b:
                    break
            got = got[a:b]
        shown = " ".join([x for x in got if x[0] != "<"])
        return shown if shown else " ".join(got)

    def reasons_of(self, list sentences, list confidence, double at, str text, Reasoner r):
        """The reasons of each of ``sentences`` as flagger.core.Flagger.reasons words them for a
        flagged sentence the passes left nothing on (``report`` False), for sentences with no
        foreign verdict: ``confidence`` the sentences' confidences, ``at`` the confidence at or
        below which a sentence gets all its reasons (else the cheap ones)."""
        cdef Py_ssize_t i
        cdef double c
        cdef bint low
        cdef int32_t* info
        cdef list worded, got
        out = []
        for o in sentences:
            i = o
            if not 0 <= i < self.nsent:
                raise IndexError(i)
            c = confidence[i]
            low = c <= at
            worded = self._wordings(i, text, r.w, low)
            info = &self.info_.p[i * NI]
            if low and info[20]:  # unknown words: named first, then the rest
                got = r.oov_reasons(self, i, text)
                got.extend(worded)
                worded = got
            if not worded and low and c < 1.0:  # no signal of its own: what pulled the score down
                worded = [r.explain(self, i, text)]
            out.append(worded)
        return out

    @property
    def gated(self):
        """The sentences the foreign gate picked (for langdetect)."""
        return [i for i in range(self.nsent) if self.info_.p[i * NI + 13]]

    def at_most(self, double threshold):
        """The sentences whose confidence is at most threshold, in order."""
        return [i for i in range(self.nsent) if self.conf[i] <= threshold]


cdef enum:  # Reasoner: the family of words that explains a feature's low contribution
    FAM_NONE = 0
    FAM_FLUENCY = 1
    FAM_MT_STYLE = 2
    FAM_RARE = 3
    FAM_LENGTH = 4


@cython.final
cdef class Reasoner:
    """What Doc.reasons_of words reasons with, beyond the Wording: the oov reason (its
    templates, the maximum per sentence, the suggestions: their cache and the function that
    fills it, OovSignal.suggestion) and the reason of a low score no signal explains
    (Signals.explain: the combiner's terms, the family each feature's words belong to, the
    templates). See flagger.core.Flagger.reasons_of. Compiled only, as Wording is: the Python
    twin of what it does is the flagger's own wording (Flagger.reasons), which
    tests/test_kernel.py compares it with."""

    cdef Wording w
    cdef object reason  # the Reason type
    cdef dict suggestions
    cdef object suggest
    cdef int max_oov
    cdef str oov_suggested, oov_plain, rare_words, length, low_confidence
    cdef Py_ssize_t nterms
    cdef double* coef
    cdef double* mean
    cdef double* scale
    cdef int32_t* feat  # index into FEATURES
    cdef int32_t* rank  # the rank of the feature's name among the names (sorted: ties of equal terms)
    cdef int32_t* family
    cdef double* value  # explain's scratch: each term's contribution ...
    cdef int32_t* order  # ... and the terms in Combiner.contributions' order
    cdef double blame_at, long_log_words
    cdef int32_t log_words

    def __cinit__(self, *args, **kwargs):
        self.coef = self.mean = self.scale = NULL
        self.feat = self.rank = self.family = self.order = NULL
        self.value = NULL

    def __dealloc__(self):
        free(self.coef)
        free(self.mean)
        free(self.scale)
        free(self.feat)
        free(self.rank)
        free(self.family)
        free(self.value)
        free(self.order)

    def __init__(self, Wording w, reason, dict suggestions, suggest, int max_oov, str oov_suggested, str oov_plain,
                 terms, dict families, double blame_at, double long_log_words, str rare_words, str length,
                 str low_confidence):
        """``terms``: (name, coefficient, mean, scale) of each of the combiner's features, in its
        order; ``families``: feature name -> "fluency", "mt-style", "rare-words" or "length"."""
        cdef Py_ssize_t k, n = len(terms)
        codes = {"fluency": FAM_FLUENCY, "mt-style": FAM_MT_STYLE, "rare-words": FAM_RARE, "length": FAM_LENGTH}
        self.w, self.reason, self.suggestions, self.suggest, self.max_oov = w, reason, suggestions, suggest, max_oov
        self.oov_suggested, self.oov_plain = oov_suggested, oov_plain
        self.rare_words, self.length, self.low_confidence = rare_words, length, low_confidence
        self.blame_at, self.long_log_words = blame_at, long_log_words
        self.log_words = FEATURES.index("log_words")
        self.coef = <double*>malloc((n + 1) * sizeof(double))
        self.mean = <double*>malloc((n + 1) * sizeof(double))
        self.scale = <double*>malloc((n + 1) * sizeof(double))
        self.feat = <int32_t*>malloc((n + 1) * sizeof(int32_t))
        self.rank = <int32_t*>malloc((n + 1) * sizeof(int32_t))
        self.family = <int32_t*>malloc((n + 1) * sizeof(int32_t))
        self.value = <double*>malloc((n + 1) * sizeof(double))
        self.order = <int32_t*>malloc((n + 1) * sizeof(int32_t))
        if not (self.coef and self.mean and self.scale and self.feat and self.rank and self.family and self.value
                and self.order):
            raise MemoryError()
        names = sorted(t[0] for t in terms)
        for k in range(n):
            name, c, m, sd = terms[k]
            self.coef[k], self.mean[k], self.scale[k] = c, m, sd
            self.feat[k] = FEATURES.index(name) if name in FEATURES else -1  # (a feature the kernel lacks is 0)
            self.rank[k] = names.index(name)
            self.family[k] = codes.get(families.get(name), FAM_NONE)
        self.nterms = n

    cdef object make(self, str code, str message, suggestion):
        return tuple.__new__(self.reason, (code, message, suggestion))

    cdef list oov_reasons(self, Doc doc, Py_ssize_t i, str text):
        """OovSignal.reasons of the sentence's unknown words (Doc.oov's)."""
        cdef int32_t* T = doc.toks.p
        cdef int32_t* info = &doc.info_.p[i * NI]
        cdef Py_ssize_t k
        cdef int32_t b
        out = []
        seen = set()
        for k in range(info[0], info[1]):
            b = T[4 * k + 2]
            if b & (WORD | KEPT | LONG | UNKNOWN | UPPER) != (WORD | KEPT | LONG | UNKNOWN):
                continue
            if len(out) >= self.max_oov:
                break
            word = PyUnicode_Substring(text, T[4 * k], T[4 * k + 1])
            if word in seen:
                continue
            seen.add(word)
            low = word.lower().replace("\u2019", "'")
            sug = self.suggestions.get(low, self)
            if sug is self:
                sug = self.suggest(low)
            out.append(self.make("oov", self.oov_suggested.format(word, sug) if sug else self.oov_plain.format(word),
                                 sug))
        return out

    cdef object explain(self, Doc doc, Py_ssize_t i, str text):
        """Signals.explain of a sentence with no reason of its own and a confidence below 1."""
        cdef double* f = &doc.feats[i * NF]
        cdef int32_t* info = &doc.info_.p[i * NI]
        cdef int32_t* T = doc.toks.p
        cdef double* value = self.value
        cdef int32_t* order = self.order
        cdef Py_ssize_t n = self.nterms, k, q, j, p
        cdef int32_t b, fam
        for k in range(n):
            value[k] = self.coef[k] * ((f[self.feat[k]] if self.feat[k] >= 0 else 0.0) - self.mean[k]) / self.scale[k]
            # insertion sort by (value, name): Combiner.contributions' order
            q = k
            while q > 0 and (value[order[q - 1]] > value[k] or (
                    value[order[q - 1]] == value[k] and self.rank[order[q - 1]] > self.rank[k])):
                order[q] = order[q - 1]
                q -= 1
            order[q] = <int32_t>k
        for q in range(n):
            k = order[q]
            if value[k] > self.blame_at:
                break
            fam = self.family[k]
            if fam == FAM_FLUENCY:
                return self.make("fluency", fill(self.w.fluency_parts, self.w.fluency, doc.quote(text, info, 15, self.w)),
                                 None)
            if fam == FAM_MT_STYLE:
                return self.make("mt-style", fill(self.w.mt_style_parts, self.w.mt_style,
                                                  doc.quote(text, info, 17, self.w)), None)
            if fam == FAM_RARE:
                shown = []
                j = 0  # the word's place among the sentence's words
                for p in range(info[0], info[1]):
                    b = T[4 * p + 2]
                    if not b & WORD:
                        continue
                    if b & LONG and b & KEPT and b & (UNKNOWN | RARE) and (j > 0 or b & UNKNOWN):
                        if len(shown) == 4:
                            break
                        shown.append(PyUnicode_Substring(text, T[4 * p], T[4 * p + 1]))
                    j += 1
                if shown:
                    return self.make("rare-words", self.rare_words.format(
                        ", ".join(["\u201c" + x + "\u201d" for x in dict.fromkeys(shown)])), None)
            elif fam == FAM_LENGTH and f[self.log_words] > self.long_log_words:
                return self.make("length", self.length.format(info[2]), None)
        return self.make("low-confidence", self.low_confidence, None)


cdef int unmatched(const chr_t* d, Py_ssize_t ls, Py_ssize_t le, IBuf* out) except -1:
    """The unmatched quotes and brackets of text[ls:le] (see kernel.unmatched_marks): position,
    character pairs in ``out``, by position."""
    cdef IBuf stacks[5]
    cdef Py_ssize_t i, t, j, last_straight = -1, straight = 0
    cdef uint32_t c
    cdef int32_t p, ch
    for t in range(5):
        stacks[t].p = NULL
        stacks[t].n = stacks[t].cap = 0
    out.n = 0
    try:
        for i in range(ls, le):
            c = d[i]
            if c < 256:
                if not CLS[c] & C_MARK:
                    continue
            elif c != 0x201C and c != 0x201D:
                continue
            if c == 40 or c == 91 or c == 123 or c == 0x201C or c == 0xAB:  # ( [ { “ «
                t = 0 if c == 40 else 1 if c == 91 else 2 if c == 123 else 3 if c == 0x201C else 4
                ibuf_push(&stacks[t], <int32_t>i)
            elif c == 41 or c == 93 or c == 125 or c == 0x201D or c == 0xBB:  # ) ] } ” »
                t = 0 if c == 41 else 1 if c == 93 else 2 if c == 125 else 3 if c == 0x201D else 4
                if stacks[t].n:
                    stacks[t].n -= 1
                else:
                    ibuf_push(out, <int32_t>i)
                    ibuf_push(out, <int32_t>c)
            elif c == 34:
                straight += 1
                last_straight = i
        for t in range(5):
            ch = 40 if t == 0 else 91 if t == 1 else 123 if t == 2 else 0x201C if t == 3 else 0xAB
            for j in range(stacks[t].n):
                ibuf_push(out, stacks[t].p[j])
                ibuf_push(out, ch)
        if straight % 2:
            ibuf_push(out, <int32_t>last_straight)
            ibuf_push(out, 34)
        # by position (insertion sort: a line has few unmatched marks)
        for i in range(2, out.n, 2):
            p, ch = out.p[i], out.p[i + 1]
            j = i - 2
            while j >= 0 and out.p[j] > p:
                out.p[j + 2] = out.p[j]
                out.p[j + 3] = out.p[j + 1]
                j -= 2
            out.p[j + 2] = p
            out.p[j + 3] = ch
    finally:
        for t in range(5):
            ibuf_free(&stacks[t])
    return 0


cdef void window(IBuf* words, Py_ssize_t n, Py_ssize_t at, int32_t* lo_out, int32_t* hi_out) noexcept:
    """kernel._window: the quoted positions around ``at`` (``words``: a word at each position)."""
    cdef Py_ssize_t lo = at - 2 if at >= 2 else 0, hi = at + 1, p
    cdef bint any_word
    while True:
        any_word = False
        for p in range(lo, hi if hi < n else n):
            if words.p[p]:
                any_word = True
                break
        if any_word or not (lo > 0 or hi < n):
            break
        lo = lo - 1 if lo > 0 else 0
        hi = hi + 1 if hi + 1 < n else n
    lo_out[0] = <int32_t>lo
    hi_out[0] = <int32_t>(hi if hi < n else n)


cdef inline bint all_bits(int32_t b, int32_t want) noexcept:
    return (b & want) == want


cdef bint gap(const chr_t* d, Py_ssize_t a, Py_ssize_t b) noexcept:
    cdef Py_ssize_t i
    cdef uint32_t c
    if b <= a:
        return False
    for i in range(a, b):
        c = d[i]
        if c != 32 and c != 0xA0:
            return False
    return True


cdef bint is_strip_end(uint32_t c) noexcept:  # ” ’ " ' ) ] » and the space
    return is_closer(c) or c == 32


cdef bint repeats_at_least(IBuf* lows, int need) noexcept:
    """Whether at least ``need`` words equal an earlier word (a necessary condition, checked
    through a 1024-bit filter of the lowercase ids: a word equal to an earlier one always finds
    its bit set)."""
    cdef uint64_t seen[16]
    cdef Py_ssize_t i
    cdef uint32_t h
    cdef int found = 0
    memset(seen, 0, sizeof(seen))
    for i in range(lows.n):
        h = <uint32_t>(mix(<uint64_t>(<uint32_t>lows.p[i])) & 1023)
        if seen[h >> 6] >> (h & 63) & 1:
            found += 1
            if found >= need:
                return True
        else:
            seen[h >> 6] |= (<uint64_t>1) << (h & 63)
    return False


cdef int phrase(IBuf* lows, IBuf* wbits, int32_t* at, int32_t* size) except -1:
    """The first phrase said twice (see kernel._phrase), through a table of n-gram first places."""
    cdef Py_ssize_t n = lows.n, i, j, k, cap, slot, g, sz, need, content
    cdef int64_t* keys = NULL  # first index of the gram in this slot, -1 empty
    cdef uint64_t h
    cdef bint same
    at[0] = -1
    size[0] = 0
    for sz, need in ((3, 3), (4, 2)):
        g = n - sz + 1
        if g <= 0:
            continue
        cap = 16
        while cap < 2 * g:
            cap *= 2
        keys = <int64_t*>malloc(cap * sizeof(int64_t))
        if keys == NULL:
            raise MemoryError()
        try:
            for slot in range(cap):
                keys[slot] = -1
            for i in range(g):
                h = 1469598103934665603ULL
                for k in range(sz):
                    h = (h ^ <uint64_t>(<uint64_t>lows.p[i + k] + 1)) * 1099511628211ULL
                slot = <Py_ssize_t>(mix(h) & (cap - 1))
                j = -1
                while keys[slot] >= 0:
                    same = True
                    for k in range(sz):
                        if lows.p[keys[slot] + k] != lows.p[i + k]:
                            same = False
                            break
                    if same:
                        j = keys[slot]
                        break
                    slot = (slot + 1) & (cap - 1)
                if j < 0:
                    keys[slot] = i
                    j = i
                if i >= j + sz:
                    content = 0
                    for k in range(sz):
                        if not wbits.p[i + k] & FUNCTION:
                            content += 1
                    if content >= need:
                        at[0] = <int32_t>i
                        size[0] = <int32_t>sz
                        return 0
        finally:
            free(keys)
            keys = NULL
    return 0


cdef int measure(Doc doc, const chr_t* d, Py_ssize_t s, Py_ssize_t e, Py_ssize_t lo, int32_t mark,
                 Scorer sc, IBuf* codes, int64_t non_latin, IBuf* wlows, IBuf* wbits, IBuf* ids) except -1:
    """Features and info of the sentence text[s:e], whose tokens are doc's from ``lo`` on
    (``codes``: their fluency codes; ``non_latin``: their non-Latin characters)."""
    cdef int32_t* T = doc.toks.p
    cdef Py_ssize_t hi = doc.toks.n // 4, k, p, first_k = -1, second_k = -1, nw = 0
    cdef int64_t n = 0, n_lower = 0, known_lower = 0, cap_unknown = 0, n_oov = 0, rare = 0
    cdef int64_t letters = 0, foreign = 0
    cdef bint clause = False
    cdef int32_t b, b2, first = 0, second = 0, code
    cdef Py_ssize_t i = doc.nsent
    cdef double* f = &doc.feats[i * NF]
    cdef int32_t* info = &doc.info_.p[i * NI]
    wlows.n = 0
    wbits.n = 0
    for k in range(lo, hi):
        b = T[4 * k + 2]
        if b & CLAUSE:
            clause = True
        if not b & WORD:
            continue
        if first_k < 0:
            first_k = k
        elif second_k < 0:
            second_k = k
        nw += 1
        ibuf_push(wlows, T[4 * k + 3])
        ibuf_push(wbits, b)
        letters += T[4 * k + 1] - T[4 * k]
        if b & FOREIGN:
            foreign += 1
        if b & KEPT:
            n += 1
            if not b & UPPER:
                n_lower += 1
                if not b & UNKNOWN:
                    known_lower += 1
                if b & LONG and b & UNKNOWN:
                    n_oov += 1
                if b & LONG and b & RARE:
                    rare += 1
            elif b & LONG and b & UNKNOWN:
                cap_unknown += 1
    if first_k >= 0:
        first = T[4 * first_k + 2]
    if second_k >= 0:
        second = T[4 * second_k + 2]
    if all_bits(first, WORD | KEPT | UPPER | LONG | UNKNOWN):
        cap_unknown -= 1
    cdef double known_share = (<double>known_lower) / (<double>n_lower) if n_lower else 1.0
    cdef double non_latin_share = (<double>non_latin) / (<double>(letters if letters else 1))
    cdef double foreign_share = (<double>foreign) / (<double>(n if n else 1))
    cdef bint gate = (n_lower >= sc.gate_min_words and known_share < sc.gate_known) or (
        n >= sc.gate_min_words and non_latin_share > sc.gate_non_latin)
    cdef double per = <double>(nw if nw else 1)

    # fragment
    cdef int32_t fragment = 0
    cdef uint32_t last = 0
    p = e
    while p > s and is_strip_end(d[p - 1]):
        p -= 1
    if p > s:
        last = d[p - 1]
    if p > s and is_ender(last) and last != 63 and nw:
        if first & TO and 2 <= nw <= 4 and second & LOWER0:
            fragment = 1
        elif not first & UPPER:
            pass
        elif first & SUBORDINATOR and not clause:
            fragment = 2
        elif first & NO_SUBJECT and nw >= 2 and last == 46:
            fragment = 3

    # repetition
    cdef int32_t doubled = -1, phrase_at = -1, phrase_size = 0
    for k in range(lo, hi - 1):
        b = T[4 * k + 2]
        b2 = T[4 * k + 6]
        if all_bits(b, WORD | PLAIN | LONG) and all_bits(b2, WORD | PLAIN | LONG) \
                and T[4 * k + 3] == T[4 * k + 7] and not b & DOUBLE_OK:
            doubled = <int32_t>k
            break
    if nw >= 6 and repeats_at_least(wlows, 3):  # a phrase said twice: 3 words seen before, at least
        phrase(wlows, wbits, &phrase_at, &phrase_size)
    cdef int repetition = (doubled >= 0) + (phrase_at >= 0)

    # lowercase start
    cdef int32_t lower_start = -1
    k = lo
    while k < hi and T[4 * k + 2] & OPENER:
        k += 1
    if k < hi:
        b = T[4 * k + 2]
        if b & WORD and b & LOWER0 and not b & UPPER_REST:
            lower_start = <int32_t>k

    # midsentence capital
    cdef int32_t midcap = -1, caps = 0
    cdef int32_t bp, bn
    for k in range(lo + 1, hi - 1):
        if not T[4 * k + 2] & MIDCAP:
            continue
        bp = T[4 * (k - 1) + 2]
        bn = T[4 * (k + 1) + 2]
        if not all_bits(bp, WORD | AZ_FIRST | AZ_LAST) or not all_bits(bn, WORD | AZ_FIRST) or bn & FUNCTION:
            continue
        if not gap(d, T[4 * (k - 1) + 1], T[4 * k]) or not gap(d, T[4 * k + 1], T[4 * (k + 1)]):
            continue
        caps += 1
        if midcap < 0:
            midcap = <int32_t>k

    # fluency: the ids (a possessive is two), then the end mark
    ids.n = 0
    wbits.n = 0  # (the words' bits are no longer needed: now, per position, whether it is a word)
    for k in range(lo, hi):
        code = codes.p[k - lo]
        b = T[4 * k + 2] & WORD
        if code >= 0:
            ibuf_push(ids, code)
            ibuf_push(wbits, b)
        else:
            ibuf_push(ids, ~code)
            ibuf_push(ids, sc.poss)
            ibuf_push(wbits, b)
            ibuf_push(wbits, 0)
    cdef Py_ssize_t n_ids = ids.n
    ibuf_push(ids, sc.eos)
    cdef int64_t u = sc.bos, v = sc.bos, w, total = 0, mt_total = 0, uni_total = 0, low = 0
    cdef int64_t gain, style, g1 = 0, g2 = 0, s1 = 0, s2 = 0, wsum, gbest = 0, sbest = 0
    cdef int32_t en, mt
    cdef Py_ssize_t pos, gat = 0, sat = 0
    for pos in range(PREFETCH_AHEAD):
        sc.prefetch(ids.p, ids.n, pos)
    for pos in range(ids.n):
        w = ids.p[pos]
        sc.prefetch(ids.p, ids.n, pos + PREFETCH_AHEAD)
        sc.logprob2(u, v, w, &en, &mt)
        total += en
        mt_total += mt
        uni_total += sc.uni[w]
        gain = en - sc.uni[w]
        if 2 * gain < -sc.scale:
            low += 1
        if pos < n_ids:  # the worst three-position windows (gain, style), the first on a tie
            style = en - mt
            wsum = gain + g1 + g2
            if pos == 0 or wsum < gbest:
                gbest, gat = wsum, pos
            wsum = style + s1 + s2
            if pos == 0 or wsum < sbest:
                sbest, sat = wsum, pos
            g2, g1 = g1, gain
            s2, s1 = s1, style
        u, v = v, w
    cdef double positions = <double>(n_ids + 1)
    cdef double scale = <double>sc.scale

    f[0] = log1p(<double>nw)
    f[1] = known_share
    f[2] = non_latin_share
    f[3] = foreign_share
    f[4] = 0.0
    f[5] = (<double>n_oov) / per
    f[6] = 1.0 if n_oov > 0 else 0.0
    f[7] = (<double>cap_unknown) / per
    f[8] = (<double>rare) / per
    f[9] = 1.0 if fragment > 0 else 0.0
    f[10] = <double>repetition
    f[11] = 1.0 if mark > 0 else 0.0
    f[12] = 1.0 if lower_start >= 0 else 0.0
    f[13] = <double>caps
    f[14] = (<double>total) / scale / positions
    f[15] = (<double>(total - uni_total)) / scale / positions
    f[16] = (<double>low) / positions
    f[17] = (<double>mt_total) / scale / positions
    f[18] = (<double>(mt_total - uni_total)) / scale / positions
    f[19] = (<double>(total - mt_total)) / scale / positions
    info[0] = <int32_t>lo
    info[1] = <int32_t>hi
    info[2] = <int32_t>nw
    info[3] = fragment
    info[4] = doubled
    info[5] = phrase_at
    info[6] = phrase_size
    info[7] = mark
    info[8] = lower_start
    info[9] = midcap
    info[10] = <int32_t>n_ids
    info[11] = <int32_t>gat
    info[12] = <int32_t>sat
    info[13] = 1 if gate else 0
    info[14] = <int32_t>(n_ids - (hi - lo))
    window(wbits, n_ids, gat, &info[15], &info[16])
    window(wbits, n_ids, sat, &info[17], &info[18])
    info[19] = 0
    if sc.fires and n_ids >= sc.fire_min:
        info[19] = (1 if f[15] < sc.fire_gain else 0) | (2 if f[19] < sc.fire_style else 0)
    info[20] = <int32_t>n_oov
    doc.conf[i] = sigmoid_of(sc.logit_of(f))
    return 0


def analyze(str text, spans, Lexicon lexicon, Scorer scorer, Abbreviations abbreviations):
    """Measure every sentence of text: ``spans`` if given, else split's (see kernel.py)."""
    cdef int kind = PyUnicode_KIND(text)
    if kind == 1:
        return analyze_of(text, <uint8_t*>PyUnicode_DATA(text), spans, lexicon, scorer, abbreviations)
    if kind == 2:
        return analyze_of(text, <uint16_t*>PyUnicode_DATA(text), spans, lexicon, scorer, abbreviations)
    return analyze_of(text, <uint32_t*>PyUnicode_DATA(text), spans, lexicon, scorer, abbreviations)


cdef Doc analyze_of(str text, const chr_t* d, spans, Lexicon lexicon, Scorer scorer, Abbreviations abbreviations):
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i, s, e, j, te = 0, j2, te2 = 0, lo, ls = -1, checked = 0, q
    cdef Key key, key2
    cdef int32_t ent, mark
    cdef int64_t nl
    cdef IBuf codes, wlows, wbits, marks, ids
    cdef Doc doc = Doc()
    lexicon.fresh()
    if spans is None:
        split_into(text, d, n, abbreviations, &doc.spans_)
    else:
        for a, b in spans:
            if not 0 <= a <= b <= n:
                raise ValueError(f"span ({a}, {b}) out of the text")
            ibuf_push(&doc.spans_, <int32_t>a)
            ibuf_push(&doc.spans_, <int32_t>b)
    cdef Py_ssize_t nsent = doc.spans_.n // 2
    doc.reserve(nsent)
    codes.p = wlows.p = wbits.p = marks.p = ids.p = NULL
    codes.n = codes.cap = wlows.n = wlows.cap = wbits.n = wbits.cap = marks.n = marks.cap = ids.n = ids.cap = 0
    try:
        for i in range(nsent):
            s = doc.spans_.p[2 * i]
            e = doc.spans_.p[2 * i + 1]
            lo = doc.toks.n // 4
            codes.n = 0
            nl = 0
            # each token is hashed, and its slot asked for, one token ahead of its lookup
            j = lex_ahead(lexicon, d, s, e, &te, &key)
            while j < e:
                j2 = lex_ahead(lexicon, d, te, e, &te2, &key2)
                ent = lex_lookup_key(lexicon, text, d, j, te, &key)
                ibuf_reserve(&doc.toks, 4)
                doc.toks.p[doc.toks.n] = <int32_t>j
                doc.toks.p[doc.toks.n + 1] = <int32_t>te
                doc.toks.p[doc.toks.n + 2] = lexicon.ents.p[4 * ent]
                doc.toks.p[doc.toks.n + 3] = lexicon.ents.p[4 * ent + 2]
                doc.toks.n += 4
                ibuf_push(&codes, lexicon.ents.p[4 * ent + 1])
                nl += lexicon.ents.p[4 * ent + 3]
                j, te, key = j2, te2, key2
            # the unmatched marks of the paragraph ("\n" to "\n") the sentence starts in; the
            # last paragraph's are kept while the sentences stay in it
            if ls >= 0 and ls <= s:
                q = checked
                while q < s and d[q] != 10:
                    q += 1
                if q < s:
                    ls = -1
                else:
                    checked = max(checked, s)
            if ls < 0 or ls > s:
                q = s
                while q > 0 and d[q - 1] != 10:
                    q -= 1
                ls = q
                q = s
                while q < n and d[q] != 10:
                    q += 1
                unmatched(d, ls, q, &marks)
                checked = s
            mark = 0
            for q in range(0, marks.n, 2):
                if s <= marks.p[q] < e:
                    mark = marks.p[q + 1]
                    break
            measure(doc, d, s, e, lo, mark, scorer, &codes, nl, &wlows, &wbits, &ids)
            doc.nsent += 1
    finally:
        ibuf_free(&codes)
        ibuf_free(&wlows)
        ibuf_free(&wbits)
        ibuf_free(&marks)
        ibuf_free(&ids)
    return doc
