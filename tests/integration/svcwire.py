# SPDX-License-Identifier: MIT
# tests/integration/svcwire.py -- an independent implementation of
# tallyd's wire format for the tests (docs/protocol.md): a small msgpack
# encoder and decoder, request and response framing with the session MACs
# (Python's hmac), and a REQ client over libnng through ctypes.  Nothing
# here uses the C code under test.

import ctypes
import hashlib
import hmac
import struct

# ---- msgpack ----


def pack(v):
    """msgpack of None, bool, int, str, bytes, list/tuple, dict (in its
    order), shortest forms."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v <= 0x7f:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack("b", v)
        if v >= 0:
            for code, fmt, lim in ((0xcc, ">B", 1 << 8), (0xcd, ">H", 1 << 16),
                                   (0xce, ">I", 1 << 32),
                                   (0xcf, ">Q", 1 << 64)):
                if v < lim:
                    return bytes([code]) + struct.pack(fmt, v)
            raise ValueError("int too large")
        for code, fmt, lim in ((0xd0, ">b", 1 << 7), (0xd1, ">h", 1 << 15),
                               (0xd2, ">i", 1 << 31), (0xd3, ">q", 1 << 63)):
            if v >= -lim:
                return bytes([code]) + struct.pack(fmt, v)
        raise ValueError("int too small")
    if isinstance(v, str):
        b = v.encode()
        n = len(b)
        if n < 32:
            return bytes([0xa0 | n]) + b
        if n < 1 << 8:
            return b"\xd9" + struct.pack(">B", n) + b
        if n < 1 << 16:
            return b"\xda" + struct.pack(">H", n) + b
        return b"\xdb" + struct.pack(">I", n) + b
    if isinstance(v, (bytes, bytearray)):
        n = len(v)
        if n < 1 << 8:
            return b"\xc4" + struct.pack(">B", n) + bytes(v)
        if n < 1 << 16:
            return b"\xc5" + struct.pack(">H", n) + bytes(v)
        return b"\xc6" + struct.pack(">I", n) + bytes(v)
    if isinstance(v, (list, tuple)):
        n = len(v)
        h = (bytes([0x90 | n]) if n < 16 else
             b"\xdc" + struct.pack(">H", n) if n < 1 << 16 else
             b"\xdd" + struct.pack(">I", n))
        return h + b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        n = len(v)
        h = (bytes([0x80 | n]) if n < 16 else
             b"\xde" + struct.pack(">H", n) if n < 1 << 16 else
             b"\xdf" + struct.pack(">I", n))
        return h + b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(type(v))


def unpack(b):
    v, off = _un(b, 0)
    if off != len(b):
        raise ValueError("trailing bytes")
    return v


def _un(b, o):
    c = b[o]
    o += 1
    if c <= 0x7f:
        return c, o
    if c >= 0xe0:
        return c - 256, o
    if 0x80 <= c <= 0x8f:
        return _map(b, o, c & 15)
    if 0x90 <= c <= 0x9f:
        return _arr(b, o, c & 15)
    if 0xa0 <= c <= 0xbf:
        n = c & 31
        return b[o:o + n].decode(), o + n
    if c == 0xc0:
        return None, o
    if c in (0xc2, 0xc3):
        return c == 0xc3, o
    if c in (0xc4, 0xc5, 0xc6):
        k = 1 << (c - 0xc4)
        n = int.from_bytes(b[o:o + k], "big")
        o += k
        return bytes(b[o:o + n]), o + n
    if c in (0xd9, 0xda, 0xdb):
        k = 1 << (c - 0xd9)
        n = int.from_bytes(b[o:o + k], "big")
        o += k
        return b[o:o + n].decode(), o + n
    if 0xcc <= c <= 0xcf:
        k = 1 << (c - 0xcc)
        return int.from_bytes(b[o:o + k], "big"), o + k
    if 0xd0 <= c <= 0xd3:
        k = 1 << (c - 0xd0)
        return int.from_bytes(b[o:o + k], "big", signed=True), o + k
    if c in (0xdc, 0xdd):
        k = 2 if c == 0xdc else 4
        return _arr(b, o + k, int.from_bytes(b[o:o + k], "big"))
    if c in (0xde, 0xdf):
        k = 2 if c == 0xde else 4
        return _map(b, o + k, int.from_bytes(b[o:o + k], "big"))
    raise ValueError("type 0x%02x" % c)


def _arr(b, o, n):
    out = []
    for _ in range(n):
        v, o = _un(b, o)
        out.append(v)
    return out, o


def _map(b, o, n):
    out = {}
    for _ in range(n):
        k, o = _un(b, o)
        v, o = _un(b, o)
        out[k] = v
    return out, o


# ---- framing (docs/protocol.md sections 3-5) ----


def request(op, args=None):
    """A plain request."""
    return pack([1, op, args or {}])


def req_mac(c2s, maced):
    return hmac.new(c2s, b"tally/v1/request\x00" + maced,
                    hashlib.sha256).digest()


def resp_mac(s2c, sid, counter, rmac, maced):
    return hmac.new(s2c, b"tally/v1/response\x00" + sid +
                    struct.pack(">Q", counter) + rmac + maced,
                    hashlib.sha256).digest()


def session_request(keys, counter, op, args=None, version=1):
    """A session request; returns (bytes, its MAC)."""
    body = (pack(version) + pack(keys["sid"]) + pack(counter) + pack(op) +
            pack(args or {}))
    mac = req_mac(keys["c2s"], body)
    return b"\x96" + body + pack(mac), mac


def response(b):
    """Decodes a response: (status, message, result, counter, mac)."""
    v = unpack(b)
    if len(v) == 5:
        return v[0], v[1], v[2], v[3], v[4]
    return v[0], v[1], v[2], None, None


def check_response(keys, counter, rmac, b):
    """True if b is a session answer MACed for (counter, rmac)."""
    if b[0] != 0x95:
        return False
    # The maced part: elements 0..2, i.e. the bytes before counter and mac.
    v = unpack(b)
    tail = pack(v[3]) + pack(v[4])
    maced = b[1:len(b) - len(tail)]
    return (v[3] == counter and
            hmac.compare_digest(resp_mac(keys["s2c"], keys["sid"], counter,
                                         rmac, maced), v[4]))


# ---- nng REQ over ctypes ----

class _Sock(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32)]


_lib = None


def _nng():
    global _lib
    if _lib is None:
        _lib = ctypes.CDLL("libnng.so.1")
        _lib.nng_strerror.restype = ctypes.c_char_p
        _lib.nng_dial.argtypes = [_Sock, ctypes.c_char_p, ctypes.c_void_p,
                                  ctypes.c_int]
        _lib.nng_send.argtypes = [_Sock, ctypes.c_char_p, ctypes.c_size_t,
                                  ctypes.c_int]
        _lib.nng_recv.argtypes = [_Sock, ctypes.c_void_p,
                                  ctypes.POINTER(ctypes.c_size_t),
                                  ctypes.c_int]
        _lib.nng_socket_set_ms.argtypes = [_Sock, ctypes.c_char_p,
                                           ctypes.c_int32]
        _lib.nng_socket_set_size.argtypes = [_Sock, ctypes.c_char_p,
                                             ctypes.c_size_t]
        _lib.nng_close.argtypes = [_Sock]
        _lib.nng_free.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    return _lib


class NngError(Exception):
    pass


class Req:
    """A REQ socket dialled to url; call() sends and returns the answer."""

    def __init__(self, url, timeout_ms=10000, resend_ms=60000):
        lib = _nng()
        self.s = _Sock()
        e = lib.nng_req0_open(ctypes.byref(self.s))
        if e:
            raise NngError(lib.nng_strerror(e).decode())
        lib.nng_socket_set_ms(self.s, b"recv-timeout", timeout_ms)
        lib.nng_socket_set_ms(self.s, b"send-timeout", timeout_ms)
        lib.nng_socket_set_ms(self.s, b"req:resend-time", resend_ms)
        lib.nng_socket_set_size(self.s, b"recv-size-max", 0)
        e = lib.nng_dial(self.s, url.encode(), None, 0)
        if e:
            lib.nng_close(self.s)
            raise NngError(lib.nng_strerror(e).decode())

    def call(self, data):
        lib = _nng()
        e = lib.nng_send(self.s, data, len(data), 0)
        if e:
            raise NngError(lib.nng_strerror(e).decode())
        p = ctypes.c_void_p()
        n = ctypes.c_size_t()
        e = lib.nng_recv(self.s, ctypes.byref(p), ctypes.byref(n), 1)
        if e:
            raise NngError(lib.nng_strerror(e).decode())
        out = ctypes.string_at(p, n.value)
        lib.nng_free(p, n)
        return out

    def close(self):
        _nng().nng_close(self.s)
