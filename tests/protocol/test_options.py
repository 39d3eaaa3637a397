"""Connect options: validation before any connection, and the exact query strings the SDK sends."""

from __future__ import annotations

import pytest

from actors.errors import OptionsError
from actors.protocol.listen_v1.options import ListenV1Options
from actors.protocol.listen_v2.options import ListenV2Options
from actors.protocol.options import ConnectOptions
from actors.protocol.speak_v1.options import SpeakV1Options

# Observed on the wire from deepgram-sdk 7.16.
SDK_V1_QUERY = (
    "channels=1&encoding=linear16&endpointing=false&extra=x%3A1&extra=y%3A2&interim_results=true"
    "&keyterm=alpha&keyterm=beta+gamma&keywords=k1%3A2&keywords=k2&model=nova-3&numerals=true"
    "&redact=pci&redact=ssn&replace=a%3Ab&replace=c%3Ad&sample_rate=16000&search=s1&search=s2"
    "&smart_format=false&tag=t1&tag=t2&utterance_end_ms=1000&vad_events=true"
)
SDK_V2_QUERY = (
    "model=flux-general-en&encoding=linear16&sample_rate=16000&eager_eot_threshold=0.5&eot_threshold=0.7"
    "&eot_timeout_ms=5000&keyterm=a&keyterm=b&mip_opt_out=true&tag=x"
)


def test_listen_v1_query_matches_the_sdk_byte_for_byte() -> None:
    opts = ListenV1Options.from_kwargs(
        model="nova-3", keyterm=["alpha", "beta gamma"], keywords=["k1:2", "k2"], search=["s1", "s2"],
        replace=["a:b", "c:d"], redact=["pci", "ssn"], extra=["x:1", "y:2"], tag=["t1", "t2"],
        interim_results=True, smart_format=False, endpointing=False, utterance_end_ms=1000,
        sample_rate=16000, encoding="linear16", channels=1, language=None, vad_events="true", numerals=True,
    )  # fmt: skip
    assert opts.query_string() == SDK_V1_QUERY


def test_listen_v2_query_matches_the_sdk_byte_for_byte() -> None:
    opts = ListenV2Options.from_kwargs(
        model="flux-general-en", encoding="linear16", sample_rate=16000, eager_eot_threshold=0.5,
        eot_threshold=0.7, eot_timeout_ms=5000, keyterm=["a", "b"], mip_opt_out=True, tag="x",
    )  # fmt: skip
    assert opts.query_string() == SDK_V2_QUERY


def test_from_query_parses_what_to_query_writes() -> None:
    v1 = ListenV1Options.from_query(SDK_V1_QUERY)
    assert v1.query_string() == SDK_V1_QUERY
    assert v1.keyterm == ["alpha", "beta gamma"] and v1.endpointing is False and v1.channels == 1
    v2 = ListenV2Options.from_query(SDK_V2_QUERY)
    assert v2.query_string() == SDK_V2_QUERY and v2.eot_threshold == 0.7


def test_sdk_strings_and_native_values_are_equivalent() -> None:
    native = ListenV1Options(interim_results=True, sample_rate=16000, endpointing=300, channels=2)
    strings = ListenV1Options(interim_results="true", sample_rate="16000", endpointing="300", channels="2")
    assert native == strings
    assert native.to_query() == [("channels", "2"), ("endpointing", "300"), ("interim_results", "true"),
                                 ("sample_rate", "16000")]  # fmt: skip


def test_whole_floats_are_sent_as_integers() -> None:
    opts = ListenV1Options(sample_rate=44100.0, utterance_end_ms="1000.0")
    assert opts.to_query() == [("sample_rate", "44100"), ("utterance_end_ms", "1000")]
    assert SpeakV1Options(sample_rate=48000.0).to_query() == [("sample_rate", "48000")]


def test_endpointing_is_milliseconds_or_false() -> None:
    assert ListenV1Options(endpointing=False).to_query() == [("endpointing", "false")]
    assert ListenV1Options(endpointing=10).to_query() == [("endpointing", "10")]
    with pytest.raises(OptionsError, match="endpointing: expected an integer or false"):
        ListenV1Options(endpointing="soon")
    with pytest.raises(OptionsError, match="endpointing: must be >= 0"):
        ListenV1Options(endpointing=-5, strict=True)
    assert ListenV1Options(endpointing=-5).to_query() == [("endpointing", "-5")]  # the service decides


@pytest.mark.parametrize("extra", ["a:1", ["a:1", "b:x:y"], {"a": 1, "b": "x:y"}])
def test_extra_accepts_string_list_or_dict(extra: object) -> None:
    pairs = ListenV1Options(extra=extra).to_query()
    assert pairs[0] == ("extra", "a:1")
    assert all(name == "extra" and ":" in value for name, value in pairs)


def test_extra_needs_key_value_form_when_strict() -> None:
    with pytest.raises(OptionsError, match="extra: expected 'key:value', got 'novalue'"):
        ListenV1Options(extra="novalue", strict=True)
    assert ListenV1Options(extra="novalue").to_query() == [("extra", "novalue")]


def test_unknown_parameter_names_the_parameter_and_the_known_ones() -> None:
    with pytest.raises(OptionsError) as info:
        ListenV1Options(foo=1)
    assert info.value.name == "foo"
    message = str(info.value)
    assert "unknown parameter 'foo' for /v1/listen; known: callback, callback_method" in message
    assert "extra_query" in message


#: Values of the wrong type: refused in both modes, before any connection.
TYPE_ERRORS = [
    (ListenV1Options, {"interim_results": "yes"}, "interim_results: expected true or false, got str 'yes'"),
    (ListenV1Options, {"sample_rate": "fast"}, "sample_rate: expected an integer"),
    (ListenV1Options, {"sample_rate": 16000.5}, "sample_rate: expected an integer"),
    (ListenV1Options, {"sample_rate": True}, "sample_rate: expected an integer"),
    (ListenV1Options, {"smart_format": 1.5}, "smart_format: expected true or false"),
    (ListenV1Options, {"tag": object()}, "tag: expected a string"),
    (ListenV1Options, {"model": ["a", "b"]}, "model: takes a single value"),
    (ListenV1Options, {"keyterm": []}, "keyterm: needs at least one value"),
    (ListenV2Options, {"encoding": "linear16"}, "model: is required for /v2/listen"),
    (ListenV2Options, {"model": "flux-general-en", "eot_threshold": "nan"}, "eot_threshold: expected a fin"),
    (SpeakV1Options, {"speed": "quick"}, "speed: expected a number"),
]  # fmt: skip

#: Values of the right type that the service documents as invalid: refused only with strict=True
#: (by default they are sent, and the service's 400 is the caller's error).
VALUE_ERRORS = [
    (ListenV1Options, {"channels": 0}, "channels: must be >= 1"),
    (ListenV1Options, {"encoding": "mp3"}, "encoding: must be one of linear16"),
    (ListenV1Options, {"callback_method": "put"}, "callback_method: must be one of POST"),
    (ListenV1Options, {"smart_format": 1}, "smart_format: expected true or false, got int 1"),
    (ListenV1Options, {"redact": ["pci", "everything"]}, "redact: must be one of"),
    (ListenV1Options, {"model": ""}, "model: must not be empty"),
    (ListenV1Options, {"tag": "x" * 129}, "tag: is 129 characters; the limit is 128"),
    (ListenV2Options, {"model": "flux-general-en", "eot_threshold": 0.2}, "eot_threshold: must be >= 0.5"),
    (ListenV2Options, {"model": "flux-general-en", "eot_threshold": 1.5}, "eot_threshold: must be <= 1"),
    (ListenV2Options, {"model": "flux-general-en", "eager_eot_threshold": 0.95}, "eager_eot_threshold: must"),
    (ListenV2Options, {"model": "flux-general-en", "eot_timeout_ms": 100}, "eot_timeout_ms: must be >= 500"),
    (ListenV2Options, {"model": "flux-general-en", "redact": "pci"}, "redact: must be one of numbers"),
    (SpeakV1Options, {"sample_rate": 44100}, "sample_rate: must be one of 8000, 16000"),
    (SpeakV1Options, {"sample_rate": 22050}, "sample_rate: must be one of 8000, 16000"),
    (SpeakV1Options, {"encoding": "opus"}, "encoding: must be one of linear16, mulaw, alaw"),
]  # fmt: skip


@pytest.mark.parametrize(("options_type", "params", "match"), TYPE_ERRORS)
@pytest.mark.parametrize("strict", [False, True])
def test_wrong_types_raise_naming_the_parameter(
    options_type: type[ConnectOptions], params: dict, match: str, strict: bool
) -> None:
    with pytest.raises(OptionsError, match=match) as info:
        options_type.from_kwargs(strict=strict, **params)
    assert info.value.name in match


@pytest.mark.parametrize(("options_type", "params", "match"), VALUE_ERRORS)
def test_bad_values_raise_naming_the_parameter_when_strict(
    options_type: type[ConnectOptions], params: dict, match: str
) -> None:
    with pytest.raises(OptionsError, match=match) as info:
        options_type.from_kwargs(strict=True, **params)
    assert info.value.name in match


@pytest.mark.parametrize(("options_type", "params", "match"), VALUE_ERRORS)
def test_bad_values_are_sent_as_given_by_default(
    options_type: type[ConnectOptions], params: dict, match: str
) -> None:
    opts = options_type.from_kwargs(**params)
    name = match.split(":")[0]
    sent = [value for key, value in opts.to_query() if key == name]
    given = params[name]
    assert sent == [str(v) for v in (given if isinstance(given, list) else [given])]
    # The local server (strict, as from_query is by default) refuses the same query.
    with pytest.raises(OptionsError, match=name):
        options_type.from_query(opts.to_query())


def test_an_int_for_a_boolean_is_sent_as_its_digits_as_the_sdk_does() -> None:
    import urllib.parse

    from deepgram.core.query_encoder import encode_query

    opts = ListenV1Options.from_kwargs(model="nova-3", smart_format=1, punctuate=0, numerals=True)
    sdk = urllib.parse.urlencode(encode_query({"model": "nova-3", "numerals": True, "punctuate": 0,
                                               "smart_format": 1}) or [])  # fmt: skip
    assert opts.query_string() == sdk == "model=nova-3&numerals=true&punctuate=0&smart_format=1"


def test_updated_checks_changes_in_the_mode_the_options_were_built_with() -> None:
    lenient = ListenV1Options(model="nova-3")
    assert lenient.updated(channels=0).channels == 0 and not lenient.strict
    strict = ListenV1Options.from_kwargs(model="nova-3", strict=True)
    assert strict.strict and strict == lenient
    with pytest.raises(OptionsError, match="channels: must be >= 1"):
        strict.updated(channels=0)
    with pytest.raises(OptionsError, match="strict: expected True or False"):
        ListenV1Options(strict="yes")


def test_from_query_rejects_unknown_and_repeated_single_parameters() -> None:
    with pytest.raises(OptionsError, match="unknown parameter 'bogus'"):
        ListenV1Options.from_query([("model", "nova-3"), ("bogus", "1")])
    with pytest.raises(OptionsError, match="model: given 2 times"):
        ListenV1Options.from_query("model=a&model=b")
    with pytest.raises(OptionsError, match="interim_results: expected true or false"):
        ListenV1Options.from_query("interim_results=maybe")


def test_from_query_can_keep_unknown_parameters() -> None:
    opts = ListenV1Options.from_query("model=nova-3&newthing=1&tag=a", allow_unknown=True)
    assert opts.extra_query == [("newthing", "1")]
    assert opts.tag == ["a"]


def test_extra_query_is_an_unvalidated_escape_hatch() -> None:
    opts = ListenV1Options(model="nova-3", extra_query={"new_param": "x", "flags": ["a", "b"], "on": True})
    assert opts.to_query() == [("model", "nova-3"), ("new_param", "x"), ("flags", "a"), ("flags", "b"),
                               ("on", "true")]  # fmt: skip
    with pytest.raises(OptionsError, match="extra_query"):
        ListenV1Options(extra_query=[("", "x")])


def test_options_are_immutable_values() -> None:
    opts = ListenV1Options(model="nova-3")
    with pytest.raises(AttributeError, match="immutable"):
        opts.model = "x"
    changed = opts.updated(interim_results=True, model=None)
    assert changed.model is None and changed.interim_results is True and opts.model == "nova-3"
    assert hash(opts) == hash(ListenV1Options(model="nova-3"))
    assert repr(opts) == "ListenV1Options(model='nova-3')"
    assert opts.punctuate is None
    assert opts.get("punctuate", False) is False
    with pytest.raises(AttributeError, match="no parameter 'nonsense'"):
        _ = opts.nonsense


def test_spec_query_parameters_are_all_declared() -> None:
    from tests.protocol.spec_walk import spec

    channels = spec()["channels"]
    for path, options_type in (("/v1/listen", ListenV1Options), ("/v2/listen", ListenV2Options),
                               ("/v1/speak", SpeakV1Options)):  # fmt: skip
        declared = {p.name for p in options_type.PARAMS}
        in_spec = set(channels[path]["bindings"]["ws"]["query"]["properties"])
        assert in_spec <= declared, in_spec - declared
