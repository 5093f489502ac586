# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal ctypes binding of libnftables (Debian's python3-nftables does the same): run one
JSON batch as one transaction.  Used only to write; reads go through nft_reader."""

from __future__ import annotations

import ctypes
import ctypes.util
import json

from ..common.errors import KernelError

NFT_CTX_OUTPUT_HANDLE = 1 << 3
NFT_CTX_OUTPUT_JSON = 1 << 4


class Nft:
    def __init__(self):
        path = ctypes.util.find_library("nftables") or "libnftables.so.1"
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            raise KernelError("backend nftables needs libnftables (Debian: libnftables1): %s" % exc) from None
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        for fn in ("nft_ctx_buffer_output", "nft_ctx_buffer_error", "nft_ctx_free"):
            getattr(lib, fn).argtypes = [ctypes.c_void_p]
        for fn in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
            getattr(lib, fn).argtypes = [ctypes.c_void_p]
            getattr(lib, fn).restype = ctypes.c_char_p
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self.lib = lib
        self.ctx = lib.nft_ctx_new(0)
        lib.nft_ctx_buffer_output(self.ctx)
        lib.nft_ctx_buffer_error(self.ctx)
        lib.nft_ctx_output_set_flags(self.ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE)

    def run(self, command):
        """Run a text or JSON command (a list of JSON commands: one transaction); return parsed
        JSON output (or None); raise KernelError on error, when nothing of it was applied."""
        if not isinstance(command, str):
            command = json.dumps({"nftables": command})
        rc = self.lib.nft_run_cmd_from_buffer(self.ctx, command.encode())
        out = self.lib.nft_ctx_get_output_buffer(self.ctx).decode()
        err = self.lib.nft_ctx_get_error_buffer(self.ctx).decode()
        if rc != 0:
            raise KernelError("nftables: %s" % (err.strip() or "command failed"))
        return json.loads(out) if out.strip() else None

    def close(self):
        if self.ctx:
            self.lib.nft_ctx_free(self.ctx)
            self.ctx = None
