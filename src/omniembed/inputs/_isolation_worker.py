"""The decoder worker process behind ``MediaOptions(isolation="process")`` (see :mod:`omniembed.inputs.isolation`).

Run as ``python -m omniembed.inputs._isolation_worker "<limits dict>"``. It limits itself (address space, open
files, no core dumps), then answers requests ``("load", item, modality, load_kwargs)`` read from stdin with
``("ok", value)``, ``("error", exception)`` or ``("oom", None)`` on stdout (after one ``("ready", pid)`` once
its limits are set), one at a time, until stdin closes.
Before each item it moves its CPU-time limit to *CPU used so far + cpu_seconds*, so the kernel stops an item
that spins (SIGXCPU) whatever the worker did before.
"""

from __future__ import annotations

import ast
import math
import os
import pickle
import resource
import sys
import warnings


def _limit(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(which, (value, hard))


def _cpu_budget(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def main() -> int:
    limits = ast.literal_eval(sys.argv[1])
    protocol_out = os.dup(1)
    os.dup2(2, 1)  # a library that prints must not corrupt the reply stream
    warnings.simplefilter("ignore")  # corrupt-EXIF and APNG warnings are expected on hostile input

    from omniembed.errors import InputError
    from omniembed.inputs.isolation_protocol import receive_message, send_message
    from omniembed.inputs.loader import load_item

    try:  # decoders load their plugins lazily: do it before the address-space cap is set
        from PIL import Image

        Image.init()
        import av  # noqa: F401
    except ImportError:
        pass
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _limit(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    _limit(resource.RLIMIT_AS, int(limits["memory_bytes"]))
    send_message(protocol_out, ("ready", os.getpid()))  # start-up is not charged to the first item's wall clock
    while True:
        alive, request = receive_message(0)
        if not alive:
            return 0
        _, item, modality, kwargs = request
        _cpu_budget(float(limits["cpu_seconds"]))
        try:
            reply = ("ok", load_item(item, modality, **kwargs))
        except MemoryError:
            reply = ("oom", None)
        except InputError as exc:
            reply = ("error", exc)
        except Exception as exc:  # noqa: BLE001 - hand anything else back to the caller to raise
            reply = ("error", exc)
        try:
            send_message(protocol_out, reply)
        except MemoryError:
            send_message(protocol_out, ("oom", None))
        except (pickle.PicklingError, TypeError, AttributeError, ValueError) as exc:  # unpicklable value
            send_message(protocol_out, ("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        if reply[0] == "oom":
            return 0  # the pool replaces a worker that ran out of memory


if __name__ == "__main__":
    sys.exit(main())
