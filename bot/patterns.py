"""Regular expressions of the ``regex`` module, compiled with their first use: the module
and the compiled patterns (the URL pattern's alternation of every top-level domain, the
Unicode classes) are ~2.5 MB resident, loaded with the first draft checked, not at start."""

from __future__ import annotations

import threading
from typing import Any


class Lazy:
    """A pattern of ``regex`` compiled on first use; it answers what the compiled pattern
    does (``search``, ``finditer``, ``findall``, ``match``…). ``flags`` are names of
    ``regex``'s flags (``"VERBOSE"``, ``"IGNORECASE"``)."""

    _lock = threading.Lock()

    def __init__(self, source: str, *flags: str) -> None:
        self.source = source
        self.flags = flags
        self._compiled: Any = None

    def compiled(self) -> Any:
        if self._compiled is None:
            with self._lock:
                if self._compiled is None:
                    import regex

                    bits = 0
                    for name in self.flags:
                        bits |= getattr(regex, name)
                    self._compiled = regex.compile(self.source, bits)
        return self._compiled

    def __getattr__(self, name: str) -> Any:
        return getattr(self.compiled(), name)
