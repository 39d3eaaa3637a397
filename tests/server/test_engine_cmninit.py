"""The shipped cepstral mean every pocketsphinx stream starts from is what its recipe derives."""

from __future__ import annotations

import pytest

from actors.server.engines.cmninit import CMNINIT, learn_cmninit, parse_cmn

pytest.importorskip("pocketsphinx")
pytest.importorskip("espeakng_loader")


def test_shipped_cmninit_is_what_learn_cmninit_derives() -> None:
    shipped = parse_cmn(CMNINIT)
    learned = parse_cmn(learn_cmninit())
    assert len(shipped) == len(learned) == 13
    # Exact with the pinned espeak-ng build; a tolerance lets another build pass if it is close.
    assert learned == pytest.approx(shipped, abs=0.2), f"re-derived cmninit: {','.join(map(str, learned))}"


def test_cmninit_is_far_from_the_decoder_default() -> None:
    shipped = parse_cmn(CMNINIT)
    assert shipped[0] > 50  # the default (40,3,-1) is what a cold decoder starts from


def test_parse_cmn_rejects_malformed_values() -> None:
    with pytest.raises(ValueError):
        parse_cmn("60.5,abc")
