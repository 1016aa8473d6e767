#!/usr/bin/env python3
"""Security-layer vectors for client/digestmd5_test.go, computed apart from
the Go code: RFC 2831 sections 2.3 and 2.4 written again with hashlib, hmac
and the `cryptography` package's ARC4 and TripleDES.

The session is RFC 2831's section 4 example (chris, secret) with
qop=auth-conf; the messages are two short strings, each direction's
sequence numbers 0 and 1, so that the cipher state carrying over from one
buffer to the next is covered.

    python3 client/testdata/digestmd5_vectors.py
"""
import hashlib
import hmac

try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4, TripleDES
except ImportError:  # older releases
    from cryptography.hazmat.primitives.ciphers.algorithms import ARC4, TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

md5 = lambda b: hashlib.md5(b).digest()

user, realm, password = b"chris", b"elwood.innosoft.com", b"secret"
nonce, cnonce = b"OA6MG9tEQGm2hh", b"OA6MHXh6VqTrRk"
ha1 = md5(md5(user + b":" + realm + b":" + password) + b":" + nonce + b":" + cnonce)

SEAL_CS = b"Digest H(A1) to client-to-server sealing key magic constant"
SEAL_SC = b"Digest H(A1) to server-to-client sealing key magic constant"
SIGN_CS = b"Digest session key to client-to-server signing key magic constant"
SIGN_SC = b"Digest session key to server-to-client signing key magic constant"


def slide(k7):
    v = int.from_bytes(k7, "big")
    return bytes(((v >> (49 - 7 * i)) & 0x7F) << 1 for i in range(8))


def wrap(enc, ki, seq, msg, block):
    mac = hmac.new(ki, seq.to_bytes(4, "big") + msg, "md5").digest()[:10]
    pad = b""
    if block:
        n = 8 - (len(msg) + 10) % 8
        pad = bytes([n]) * n
    body = enc.update(msg + pad + mac) + b"\x00\x01" + seq.to_bytes(4, "big")
    return len(body).to_bytes(4, "big") + body


print("ha1", ha1.hex())
for name, n in (("rc4", 16), ("rc4-56", 7), ("3des", 16)):
    kcc, kcs = md5(ha1[:n] + SEAL_CS), md5(ha1[:n] + SEAL_SC)
    kic, kis = md5(ha1 + SIGN_CS), md5(ha1 + SIGN_SC)
    print(name, "kcc", kcc.hex(), "kcs", kcs.hex(), "kic", kic.hex(), "kis", kis.hex())
    for direction, kc, ki in (("client", kcc, kic), ("server", kcs, kis)):
        if name == "3des":
            key = slide(kc[:7]) + slide(kc[7:14])
            enc = Cipher(TripleDES(key + key[:8]), modes.CBC(kc[8:16])).encryptor()
        else:
            enc = Cipher(ARC4(kc), mode=None).encryptor()
        for seq, msg in enumerate((b"hello, libvirt", b"a second message")):
            print(name, direction, seq, wrap(enc, ki, seq, msg, name == "3des").hex())
