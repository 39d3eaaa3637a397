"""Ctrl-C in the CLI's waits: during a Ray run SIGINT only sets a flag that the driver's own loop raises."""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import Future

import pytest

from actors.cli.ctrl_c import CtrlCFlag, wait_interruptibly


def _interrupt_self() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_sets_the_flag_and_check_raises_it_where_the_driver_chooses() -> None:
    before = signal.getsignal(signal.SIGINT)
    flag = CtrlCFlag()
    with flag:
        flag.check()  # nothing pressed yet
        _interrupt_self()  # no KeyboardInterrupt here, inside whatever code is running
        with pytest.raises(KeyboardInterrupt):
            flag.check()
    assert signal.getsignal(signal.SIGINT) is before  # the previous handler is back


def test_the_wait_raises_while_a_call_is_still_running() -> None:
    flag = CtrlCFlag()
    pending: Future[None] = Future()
    with flag:
        timer = threading.Timer(0.1, _interrupt_self)
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            wait_interruptibly(pending, flag.check)
        timer.join()
    assert not pending.done()
    done: Future[None] = Future()
    done.set_result(None)
    with CtrlCFlag() as quiet:
        wait_interruptibly(done, quiet.check)  # a finished call, no Ctrl-C: returns at once
    wait_interruptibly(done)  # without a flag, as the local run waits


def test_off_the_main_thread_it_leaves_the_handler_alone() -> None:
    before = signal.getsignal(signal.SIGINT)
    seen: list[object] = []

    def enter() -> None:
        with CtrlCFlag():
            seen.append(signal.getsignal(signal.SIGINT))

    worker = threading.Thread(target=enter, name="test-ctrl-c-off-main")
    worker.start()
    worker.join()
    assert seen == [before]
