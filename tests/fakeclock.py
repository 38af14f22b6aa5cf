# SPDX-License-Identifier: MIT
# tests/fakeclock.py -- the writer's clock for the tests that drive the
# tally binary.  tally reads the system clock only (no option or variable
# sets it: whoever sets the writer's clock sets the log time), so a test
# sets the clock from outside the binary: tests/clock/clockshim.so,
# preloaded, freezes the real-time clock at an exact millisecond (why not
# libfaketime: see the shim).  The shim is built with the debug variant,
# beside the binary under test, and serves the ASan build as well.
# Usage: fakeclock.use(path_to_tally); tally(..., env=fakeclock.at(ms)).

import os

_SHIM = None


def use(tally):
    """Finds the shim of tally's build (<variant>/tools/tally ->
    out/debug/tests/clock/clockshim.so); a clear error if it is missing."""
    global _SHIM
    out = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(tally))))
    shim = os.path.join(out, "debug", "tests", "clock", "clockshim.so")
    if not os.path.isfile(shim):
        raise RuntimeError("%s is missing: build it with ninja "
                           "out/debug/all" % shim)
    _SHIM = shim


def at(ms):
    """Environment for a process whose real-time clock reads ms
    (milliseconds since the epoch) at every call."""
    if _SHIM is None:
        raise RuntimeError("fakeclock.use(tally) was not called")
    ms = int(ms)
    if ms < 0:
        raise ValueError("a clock reading is not negative: %d" % ms)
    return {"LD_PRELOAD": _SHIM, "CLOCKSHIM_MS": "%d" % ms}
