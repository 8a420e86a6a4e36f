"""The one ``main`` body both nodes share: init, spin until Ctrl-C, clean shutdown, exit code.

Before anything allocates, the process is configured for frames (``process``): it keeps freed
image-sized memory, and OpenCV stays on one thread.

- A known error at start-up (a missing or mismatched model, a parameter out of range or not
  finite) is one FATAL line that says what to fix, and exit status 1: no traceback.
- Ctrl-C exits 0. A terminal sends SIGINT to the whole process group, and ``ros2 launch`` then
  sends its own: the second used to land in ``destroy_node`` as a KeyboardInterrupt traceback
  (exit -2). Once shutdown has begun, further SIGINT / SIGTERM are ignored until it completes.
- A callback that fails because the context was already shutting down (a timer publishing after
  the signal) is part of stopping, not an error; any exception while rclpy is still running is a
  bug and keeps its traceback.
- Teardown can hang in native code (a launch test once left the fusion node alive 15 s after
  SIGINT, SIGTERM ignored as above, until launch's SIGKILL; ros2/rcl#886 is the same kind). Once
  shutdown has begun, a watchdog that needs neither the GIL nor the main thread (``faulthandler``)
  writes every thread's stack to stderr and exits with status 1 if the process is still alive
  after ``TEARDOWN_S``: the launch stops promptly and the log says where it hung. (Its first catch:
  rclpy's type description service, which the nodes no longer start; ``parameters.node_options``.)
  A crash in native code (SIGSEGV, SIGABRT) likewise writes the Python stacks before it dies.
"""

from __future__ import annotations

import faulthandler
import signal
import sys
import threading
from typing import Callable, List, Optional

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

from ..errors import PoseRegressorError
from .process import configure_process

__all__ = ["TEARDOWN_S", "BackgroundSpin", "spin_node"]

TEARDOWN_S = 4.0
"""Seconds that stopping may take before the watchdog ends the process: under launch's 5 s from
SIGINT to SIGTERM."""


def _ignore_further_signals() -> None:
    while True:
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)
            return
        except KeyboardInterrupt:  # the second Ctrl-C landed while the first was being handled: ignore it too
            continue


def spin_node(make_node: Callable[[], Node], name: str, args: Optional[List[str]] = None) -> None:
    faulthandler.enable(file=sys.stderr, all_threads=True)  # a crash in native code leaves its Python stacks
    configure_process()
    rclpy.init(args=args)
    try:
        code = _spin(make_node, name)
    except KeyboardInterrupt:  # a further Ctrl-C that landed between the first one's handler and its cleanup
        _ignore_further_signals()
        rclpy.try_shutdown()
        code = 0
    if code:
        raise SystemExit(code)


def _spin(make_node: Callable[[], Node], name: str) -> int:
    node, executor = None, None
    code = 0
    try:
        # the executor exists before the node: a Ctrl-C while the node starts (a model loading) must not
        # land half-way through the executor's constructor, as it did inside rclpy.spin
        executor = SingleThreadedExecutor()
        node = make_node()
        executor.add_node(node)
        executor.spin()
    except (PoseRegressorError, ParameterException) as err:
        rclpy.logging.get_logger(name).fatal(str(err))
        code = 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():
            raise
        # raised by a callback cut short by the shutdown already under way: stopping, not failing
    finally:
        _ignore_further_signals()
        # armed until the process ends: the interpreter's own exit still tears the middleware down
        faulthandler.dump_traceback_later(TEARDOWN_S, exit=True, file=sys.stderr)
        if executor is not None:
            executor.shutdown(timeout_sec=1.0)
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return code


class BackgroundSpin:
    """Spins ``executor`` in a daemon thread (the demo's bag player, a benchmark, a test) until ``stop``.

    ``stop`` ends the thread's loop first and shuts the executor down only then: shutting it down
    from another thread while it waits races in rclpy 7.1.6 (the wait set is rebuilt from the
    executor's guard condition just destroyed: an AttributeError in the spin thread, seen in a test).
    A Ctrl-C shuts rclpy's context down under the thread, whose next wait then fails: that is
    stopping, not an error, and prints no traceback. Stop before ``rclpy.shutdown()``: a thread
    still inside rclpy when the interpreter exits aborts the process.
    """

    WAIT_S = 0.1  # each wait's timeout: how long ``stop`` may take to be noticed

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, name="rclpy-spin", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            while not self._stop.is_set() and self.executor.context.ok():
                self.executor.spin_once(timeout_sec=self.WAIT_S)
        except Exception:  # noqa: BLE001 - re-raised unless the context is gone
            if self.executor.context.ok():
                raise

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout=timeout_s)
        self.executor.shutdown(timeout_sec=2.0)
