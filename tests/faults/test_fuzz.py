"""Property-based fuzzing (hypothesis) of the files a user hands sparsernn: study configs
(YAML, and ``--set`` values), CSV datasets, graph files (GraphML, edge-list JSON, other
text) and checkpoints.

Every example must end in one of two ways: accepted, or refused with one line (an
:class:`~sparsernn.errors.InputError` in-process; exit 2 and ``sparsernn: error: ...``
from the command line). Never another exception (a traceback from the CLI), never code
run from a file, never a hang: every call runs under a SIGALRM time limit, so a hang
fails its example instead of the suite.

Most examples call what the CLI calls before it stores anything (``load_studies``,
``check_study``, ``expand``, ``load_checkpoint``), in-process, which is fast; a few per
file kind go through ``sparsernn.cli.main`` with tiny trainings. The examples are
derandomized (a fixed seed) and there is no example database (hypothesis's caches go to
the temporary directory), so CI sees the same inputs on every run, within a time budget
set by ``max_examples``: the fuzz tests are ``slow`` (about 40 s together on 2 cores);
the fixed cases at the end (damaged checkpoints, hostile inputs the fuzzing found, some
of them known bugs marked xfail) are in the fast tier but for those that train or hang.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import pickle
import re
import resource
import shutil
import signal
import sqlite3
import tempfile
import threading
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
import torch
import yaml
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.errors import InvalidArgument

from sparsernn import registry
from sparsernn.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from sparsernn.cli import main
from sparsernn.data import Vocabulary
from sparsernn.errors import InputError
from sparsernn.nn import CELLS, SequenceClassifier
from sparsernn.studies import apply_overrides_to_all, check_study, expand, load_studies, study_from_dict
from sparsernn.studies.kinds.structure import trial_graph
from sparsernn.train import encode_splits

if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):  # hypothesis's caches: not in the repository
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "sparsernn-hypothesis")

IN_PROCESS_LIMIT = 5  # seconds for one in-process call (they take milliseconds)
CLI_LIMIT = 60  # seconds for one command with a tiny training (they take a second)
MAX_MESSAGE = 20_000  # characters: an error message is a line to read, not a dump of its input
LINE_BREAK = re.compile(r"[\n\r\v\f]")
registry.kinds()  # imports every study kind now, not within the first example's time limit


def fuzz(max_examples: int, shrink: bool = True):
    """A fixed seed, no example database, no flaky timing checks (the time limit is
    :func:`time_limit`'s). ``shrink=False`` for examples that train: a failure is reported
    as found, not after minutes of shrinking."""
    phases = list(Phase) if shrink else [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    return settings(
        max_examples=max_examples, derandomize=True, database=None, deadline=None, print_blob=False, phases=phases,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                               HealthCheck.data_too_large, HealthCheck.large_base_example,
                               HealthCheck.filter_too_much],
    )


def fault(case: str, exit: str = "0 or 2",
          outcome: str = "accepted, or refused with one line; no traceback, no hang, no code run"):
    return pytest.mark.fault(case, outcome=outcome, exit=exit, lost="nothing", section="Fuzzing")


# -- the checks every example makes ------------------------------------------------------


def remark(text: str, *, tally: str | None = None) -> None:
    """Note ``text`` for a failing example's report, and count ``tally`` for
    ``--hypothesis-show-statistics``; nothing outside a hypothesis test."""
    with contextlib.suppress(InvalidArgument):
        note(text)
        if tally:
            event(tally)


class Hang(BaseException):
    """Raised by the alarm of :func:`time_limit` (a BaseException, so no ``except
    Exception`` in the code under test swallows it)."""


MEMORY_HEADROOM = 4 << 30  # bytes of address space a call may add (a tiny training needs far less)


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    """Fail (AssertionError) if the block runs longer than ``seconds``.

    The alarm repeats every second after that: one that lands in a finaliser or a gc
    callback (hypothesis installs one) is swallowed there as "Exception ignored", and the
    next one stops the block. Meanwhile the block may grow the process's address space by
    MEMORY_HEADROOM at most (where the platform says how big it is), so a missed alarm
    ends in MemoryError, not in a machine out of memory.
    """
    if threading.current_thread() is not threading.main_thread():  # no signals: no limit
        yield
        return

    def alarm(signum, frame):
        raise Hang()

    limits = resource.getrlimit(resource.RLIMIT_AS)
    size = _address_space()
    if size is not None and (limits[1] == resource.RLIM_INFINITY or size + MEMORY_HEADROOM < limits[1]):
        resource.setrlimit(resource.RLIMIT_AS, (size + MEMORY_HEADROOM, limits[1]))
    before = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    except Hang:
        raise AssertionError(f"{what}: still running after {seconds} s (a hang)") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
        resource.setrlimit(resource.RLIMIT_AS, limits)


def check_message(message: str, what: str) -> None:
    assert message.strip(), f"{what}: an empty error message"
    assert not LINE_BREAK.search(message), f"{what}: the error is not one line: {message[:2000]!r}"
    assert len(message) <= MAX_MESSAGE, f"{what}: an error line of {len(message)} characters: {message[:300]!r}..."


def accepted_or_refused(call, *args, what: str):
    """``call(*args)``'s result, or None if it raised InputError with a one-line message.
    Any other exception, or a hang, fails the example."""
    with time_limit(IN_PROCESS_LIMIT, what):
        try:
            result = call(*args)
        except InputError as exc:
            check_message(str(exc), what)
            remark(f"refused: {exc}", tally="refused")
            return None
        except Exception as exc:
            raise AssertionError(f"{what}: {type(exc).__name__} instead of InputError (a traceback from the "
                                 f"CLI): {str(exc)[:500]}") from exc
    remark("accepted", tally="accepted")
    return result


def run_cli(capfd, argv: list[str], codes: tuple[int, ...] = (0, 2), limit: float = CLI_LIMIT) -> tuple[int, str, str]:
    """Run ``sparsernn ARGV`` in-process: its exit status is one of ``codes``; nothing is a
    traceback; every stderr line is ``sparsernn: ...``, and a failure (exit 2 or 3) is
    exactly one line besides warnings."""
    capfd.readouterr()
    what = "sparsernn " + " ".join(argv)
    with time_limit(limit, what):
        try:
            code = main(argv)
        except Exception as exc:
            raise AssertionError(f"{what}: raised {type(exc).__name__} (a traceback): {str(exc)[:500]}") from exc
    out, err = capfd.readouterr()
    remark(f"exit {code}; stderr: {err[:1000]!r}", tally=f"exit {code}")
    assert "Traceback" not in out + err, f"{what}: a traceback:\n{out[-2000:]}\n{err[-2000:]}"
    assert code in codes, f"{what}: exit {code}, expected one of {codes}; stderr: {err[:1000]!r}"
    lines = err.splitlines()
    assert all(line.startswith("sparsernn: ") for line in lines), f"{what}: stray stderr lines: {err[:2000]!r}"
    assert "\x1b" not in err, f"{what}: a terminal escape sequence from the input: {err[:2000]!r}"
    errors = [line for line in lines if not line.startswith("sparsernn: warning: ")]
    if code == 2:
        assert len(errors) == 1 and errors[0].startswith("sparsernn: error: "), f"{what}: {err[:2000]!r}"
        check_message(errors[0], what)
    elif code == 3:
        assert len(errors) == 1 and "failed" in errors[0], f"{what}: {err[:2000]!r}"
    else:
        assert not errors, f"{what}: exit {code} with error lines {err[:2000]!r}"
    return code, out, err


def fresh_dir(root: Path) -> Path:
    """A new directory for one example (the test's tmp_path is shared by its examples)."""
    return Path(tempfile.mkdtemp(dir=root))


# -- shared strategies -------------------------------------------------------------------

NO_NUL = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
SHORT_TEXT = st.text(NO_NUL, max_size=10)
# mapping keys: a line break in a key reaches InputError's message as it is (config.py
# prints key paths with str()); the CLI prints it as one line (test_hostile_inputs)
KEY_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r\v\f"), max_size=8)
# YAML and JSON scalars of every type, edge values included
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 5), st.integers(),
    st.sampled_from([2**31, 2**63, -(2**63), 10**30, 0.5, -0.0, 1e-300, 1e300]),
    st.floats(),  # nan, inf, subnormals
    SHORT_TEXT,
    st.sampled_from(["", " ", "lstm", "reber", "0", "1", "1e400", ".inf", "null", "~", "yes", "a: b", "[", "*x",
                     "&x", "!!python/name:os.system", "\n", "a\nb", "\x1b[31m", "\u2028"]),
)
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(KEY_TEXT, inner, max_size=3), max_leaves=8)
# ints bounded to what a tiny training affords (the command-line examples train)
SMALL_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2, 4), st.floats(), SHORT_TEXT,
                          st.sampled_from(["", "lstm", "0.5", ".nan"]))
SMALL_JUNK = st.recursive(SMALL_SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=4)


def maybe(plausible, junk=JUNK):
    """Mostly a plausible value, sometimes junk of any type."""
    return st.one_of(plausible, plausible, junk)


# -- study configs ---------------------------------------------------------------------------

# Settings of every section, valid but for a huge size now and then (nothing here
# trains), which mutations then replace with junk of any type, remove, or add to. Study
# sizes (graphs x generators x cells x seeds) stay small: expanding a huge study is a
# known hang (test_hostile_inputs).
HUGE = st.sampled_from([2**31, 2**63, 10**30])
FRACTION = st.floats(0, 1)
DATA_FIELDS = {
    "dataset": st.sampled_from(["reber", "embedded-reber"]),
    "num_strings": st.integers(2, 10**6) | HUGE, "min_length": st.integers(1, 20),
    "max_length": st.none() | st.integers(20, 1000) | HUGE,
    "negatives": st.sampled_from(["grammar", "foreign", "mixed"]),
    "foreign_fraction": FRACTION, "test_fraction": st.floats(0.01, 0.5), "validation_fraction": st.floats(0, 0.4),
    "seed": st.none() | st.integers(),
}
DATA = st.fixed_dictionaries({}, optional=DATA_FIELDS)
MODEL_FIELDS = {
    "embedding_dim": st.integers(1, 1000) | HUGE, "hidden_sizes": st.lists(st.integers(1, 1000) | HUGE, min_size=1,
                                                                           max_size=3),
    "dropout": st.floats(0, 0.99), "readout_mask": st.booleans(),
}
MODEL = st.fixed_dictionaries({}, optional=MODEL_FIELDS)
TRAINING_FIELDS = {
    "epochs": st.integers(0, 1000) | HUGE, "batch_size": st.integers(1, 10**5) | HUGE,
    "lr": st.floats(1e-6, 10), "optimizer": st.sampled_from(["adam", "sgd"]), "momentum": st.floats(0, 1),
    "weight_decay": st.floats(0, 1), "clip": st.none() | st.floats(0.1, 100), "eval_batch_size": st.integers(1, 10**5),
}
TRAINING = st.fixed_dictionaries({}, optional=TRAINING_FIELDS)
TARGETS = st.sampled_from(["ih", "hh", "both", "ho", "ih+hh", "hh+ih+ho"])
PRUNING_FIELDS = {
    "criteria": st.lists(st.sampled_from(["magnitude", "random", "threshold"]), min_size=1, max_size=3, unique=True),
    "targets": st.lists(TARGETS, min_size=1, max_size=2), "scopes": st.lists(st.sampled_from(["layer", "global"]),
                                                                            min_size=1, max_size=2, unique=True),
    "sparsities": st.lists(FRACTION, min_size=1, max_size=3), "thresholds": st.lists(st.floats(0, 1), min_size=1,
                                                                                     max_size=2),
    "schedules": st.lists(st.sampled_from(["one_shot", "iterative", "gradual"]), min_size=1, max_size=3, unique=True),
    "retrain_epochs": st.integers(0, 1000) | HUGE,
    "iterative": st.fixed_dictionaries({}, optional={"per_round": st.floats(0.01, 1), "rewind": st.booleans(),
                                                     "epochs_per_round": st.integers(0, 100)}),
    "gradual": st.fixed_dictionaries({}, optional={"initial": FRACTION, "start_epoch": st.integers(0, 100),
                                                   "prune_epochs": st.integers(1, 100),
                                                   "frequency": st.integers(1, 1000) | HUGE}),
    "delta": FRACTION,
}
PRUNING = st.fixed_dictionaries({}, optional=PRUNING_FIELDS)
STRUCTURE_FIELDS = {
    "generators": st.lists(st.sampled_from(["barabasi_albert", "barabasi_albert_star", "watts_strogatz",
                                            "erdos_renyi"]), min_size=1, max_size=3, unique=True),
    "graphs": st.integers(1, 20) | HUGE,
    "sizes": st.integers(1, 100).flatmap(lambda low: st.tuples(st.just(low), st.integers(low, low + 100))).map(list)
    | st.tuples(st.just(1), HUGE).map(list),
    "erdos_renyi_p": FRACTION, "orientation": st.sampled_from(["index", "random"]),
    "recurrence": st.sampled_from(["layer", "self", "none"]), "readout": st.sampled_from(["sinks", "last_layer"]),
    "pack": st.integers(1, 100) | HUGE,
}
STRUCTURE = st.fixed_dictionaries({}, optional=STRUCTURE_FIELDS)
SECTIONS = {"dense": None, "pruning": PRUNING, "structure": STRUCTURE}


@st.composite
def valid_study(draw) -> dict:
    kind = draw(st.sampled_from(sorted(SECTIONS)))
    study = draw(st.fixed_dictionaries(
        {"seeds": st.lists(st.integers(), min_size=1, max_size=3, unique=True)},
        optional={"name": st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True),
                  "cells": st.lists(st.sampled_from(sorted(CELLS)), min_size=1, max_size=4, unique=True),
                  "data": DATA, "model": MODEL, "training": TRAINING}))
    if kind != "dense" or draw(st.booleans()):
        study["kind"] = kind
    if SECTIONS[kind] is not None and draw(st.booleans()):
        study[kind] = draw(SECTIONS[kind])
    if "ho" in str(study.get("pruning", {}).get("targets")) and "model" in study:
        study["model"]["readout_mask"] = True
    return study


FIELD_PATHS = [
    "name", "kind", "cells", "seeds", "data", "model", "training", "pruning", "structure",
    *[f"{section}.{key}" for section, fields in [("data", DATA_FIELDS), ("model", MODEL_FIELDS),
                                                  ("training", TRAINING_FIELDS), ("pruning", PRUNING_FIELDS),
                                                  ("structure", STRUCTURE_FIELDS)] for key in fields],
    "pruning.iterative.per_round", "pruning.iterative.epochs_per_round", "pruning.gradual.frequency",
    "data.string_column", "data.label_column", "structure.files", "pruning.amounts",
]
PATHS = st.one_of(st.sampled_from(FIELD_PATHS), st.sampled_from(FIELD_PATHS).flatmap(
    lambda path: KEY_TEXT.map(lambda key: f"{path}.{key}")), KEY_TEXT)  # known keys, unknown keys
DELETE = KeyError  # a mutation's value that removes the key


def mutate(study: dict, path: str, value) -> dict:
    """``study`` with the setting at the dotted ``path`` set to ``value`` (or removed)."""
    study = json.loads(json.dumps(study))
    *parents, last = path.split(".")
    node = study
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    if value is DELETE:
        node.pop(last, None)
    else:
        node[last] = value
    return study


@st.composite
def mutated(draw, study, paths, values, max_mutations: int = 3) -> dict:
    study = draw(study)
    for _ in range(draw(st.integers(0, max_mutations))):
        study = mutate(study, draw(paths), draw(values))
    return study


STUDY_DOCUMENT = st.one_of(
    mutated(valid_study(), PATHS, st.just(DELETE) | JUNK),
    JUNK,  # a list, a number, ... instead of a mapping
)

# YAML text: pieces that exercise the parser (tags, anchors, directives, documents) and
# the loader's refusal to build Python objects
YAML_PIECES = st.sampled_from([
    "seeds: [0]\n", "name: x\n", "kind: pruning\n", "kind: structure\n", "cells: [gru]\n", "---\n", "...\n",
    "%YAML 1.1\n", "%TAG ! tag:example.com,2000:\n", "a: &a [1, 2]\n", "b: *a\n", "c: *missing\n", "<<: *a\n",
    "<<: {seeds: [1]}\n", "seeds: &s [0]\n", "x: *s\n",
    "x: !!python/object/apply:os.system ['touch SENTINEL']\n",
    "x: !!python/object/apply:builtins.exec [\"open('SENTINEL', 'w').close()\"]\n",
    "!!python/object/new:os.system ['touch SENTINEL']\n", "x: !!python/name:os.system\n",
    "x: !!python/object:collections.OrderedDict {}\n", "x: !!binary aGk=\n", "x: !!timestamp 2001-12-14\n",
    "x: !!set {a, b}\n", "x: !!omap [a: 1]\n", "x: !custom 1\n", "x: !!int '12'\n", "x: !!float 'nan'\n",
    "training: {lr: .inf}\n", "seeds: [1e400]\n", "seeds: [0x1F, 0o7, 1_000]\n", "data: {dataset: reber}\n",
    "\t", "  ", "- ", "? ", ": ", "{", "}", "[", "]", ",", "'", '"', "#", "|\n", ">\n", "\\", "\ufeff", "\r\n",
    "\n", "\x85", "\u2028", "\x1b", "&", "*", "!", "%", "@", "`",
])
YAML_BYTES = st.one_of(
    st.tuples(st.sampled_from(["", "seeds: [0]\n", "seeds: [0]\ncells: [gru]\n"]),
              st.lists(YAML_PIECES | SHORT_TEXT, max_size=12)).map(lambda t: (t[0] + "".join(t[1])).encode("utf-8")),
    st.binary(max_size=64),
    st.text(max_size=30).map(lambda t: ("seeds: [0]\n" + t).encode("utf-16")),
    st.text(NO_NUL, max_size=30).map(lambda t: ("seeds: [0]\nname: " + t).encode("latin-1", "replace")),
)


def check_config(path: Path):
    """What ``sparsernn run CONFIG`` does before it stores anything."""
    studies = load_studies(path)
    for study in studies:
        check_study(study)
        expand(study)
    return studies


def write_yaml(directory: Path, document) -> Path:
    path = directory / "study.yaml"
    if isinstance(document, bytes):
        path.write_bytes(document)
    else:
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    note(f"config file:\n{path.read_bytes()[:3000]!r}")
    return path


@pytest.mark.slow
@fault("fuzzed study configs (YAML mappings with values of every type)")
@fuzz(max_examples=150)
@given(document=STUDY_DOCUMENT)
def test_fuzzed_study_mappings(tmp_path, document):
    accepted_or_refused(check_config, write_yaml(fresh_dir(tmp_path), document), what="load_studies")


@pytest.mark.slow
@fault("fuzzed YAML text and bytes (tags, anchors, directives, encodings)")
@fuzz(max_examples=200)
@given(raw=YAML_BYTES)
def test_fuzzed_yaml_text(tmp_path, raw):
    directory = fresh_dir(tmp_path)
    sentinel = directory / "SENTINEL"
    studies = accepted_or_refused(check_config, write_yaml(directory, raw.replace(b"SENTINEL", bytes(sentinel))),
                                  what="load_studies")
    assert not sentinel.exists(), "a YAML tag ran code"
    for study in studies or []:
        assert type(study).__name__ == "StudyConfig"


SECTION_FIELDS = {"data": DATA_FIELDS, "model": MODEL_FIELDS, "training": TRAINING_FIELDS,
                  "pruning": PRUNING_FIELDS, "structure": STRUCTURE_FIELDS}
SETTINGS = {f"{section}.{key}": value for section, fields in SECTION_FIELDS.items() for key, value in fields.items()}
SETTINGS.update(seeds=st.lists(st.integers(), min_size=1, max_size=3, unique=True),
                cells=st.lists(st.sampled_from(sorted(CELLS)), min_size=1, max_size=2, unique=True))


def flow_yaml(value) -> str:
    """``value`` as a one-line YAML value, as a --set value is written."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).removesuffix("\n").removesuffix("\n...")


SET_ITEMS = st.one_of(
    st.sampled_from(sorted(SETTINGS)).flatmap(lambda key: SETTINGS[key].map(lambda v: f"{key}={flow_yaml(v)}")),
    st.tuples(st.sampled_from(sorted(SETTINGS)) | st.sampled_from(["a.b.c", "seeds.x", "", ".", "training..lr"])
              | KEY_TEXT, st.sampled_from(["=", "", "=="]),
              st.lists(YAML_PIECES | SHORT_TEXT, max_size=8).map("".join) | JUNK.map(flow_yaml)).map("".join),
)


@pytest.mark.slow
@fault("fuzzed --set overrides (keys and YAML values)")
@fuzz(max_examples=100)
@given(overrides=st.lists(SET_ITEMS, min_size=1, max_size=3), kind=st.sampled_from(["dense", "pruning", "structure"]))
def test_fuzzed_set_overrides(tmp_path, overrides, kind):
    config = tmp_path / f"{kind}.yaml"
    if not config.exists():
        config.write_text(f"kind: {kind}\nseeds: [0]\ncells: [gru]\n")
    note(f"--set {overrides!r}")

    def override():
        for study in apply_overrides_to_all(load_studies(config), overrides):
            check_study(study)
            expand(study)

    accepted_or_refused(override, what="--set")


# the command line, with tiny trainings: a valid study of each kind, then a few mutations
TINY = {
    "dense": {"name": "fz", "cells": ["gru"], "seeds": [0], "data": {"num_strings": 20},
              "model": {"embedding_dim": 2, "hidden_sizes": [2]}, "training": {"epochs": 1}},
    "pruning": {"name": "fz", "kind": "pruning", "cells": ["rnn_tanh"], "seeds": [0], "data": {"num_strings": 20},
                "model": {"embedding_dim": 2, "hidden_sizes": [2]}, "training": {"epochs": 1},
                "pruning": {"sparsities": [0.5], "retrain_epochs": 1}},
    "structure": {"name": "fz", "kind": "structure", "cells": ["gru"], "seeds": [0], "data": {"num_strings": 20},
                  "model": {"embedding_dim": 2}, "training": {"epochs": 1},
                  "structure": {"generators": ["erdos_renyi"], "graphs": 1, "sizes": [2, 3]}},
}
# settings whose defaults are cheap: the others (num_strings, epochs, graphs, ...) are
# never removed, and are set to small values only, so every example trains in a second
CHEAP_DEFAULTS = ["name", "kind", "cells", "data.dataset", "data.negatives", "data.test_fraction", "model.dropout",
                  "model.readout_mask", "training.lr", "training.optimizer", "training.clip", "pruning.criteria",
                  "pruning.schedules", "pruning.targets", "structure.generators", "structure.orientation",
                  "structure.readout", "structure.recurrence"]
LEAF_PATHS = ["name", "kind", "cells", "seeds", *[path for path in FIELD_PATHS if "." in path]]
TINY_MUTATIONS = st.one_of(st.tuples(st.sampled_from(CHEAP_DEFAULTS), st.just(DELETE)),
                           st.tuples(st.sampled_from(LEAF_PATHS), SMALL_JUNK))


@pytest.mark.slow
@fault("fuzzed study configs through 'sparsernn run' (tiny trainings)", exit="0, 2 or 3")
@fuzz(max_examples=20, shrink=False)
@given(kind=st.sampled_from(sorted(TINY)), mutations=st.lists(TINY_MUTATIONS, max_size=3))
def test_fuzzed_configs_through_the_command_line(tmp_path, capfd, kind, mutations):
    study = TINY[kind]
    for path, value in mutations:
        study = mutate(study, path, value)
    directory = fresh_dir(tmp_path)
    config = write_yaml(directory, study)
    run_cli(capfd, ["run", str(config), "--workers", "1", "--out", str(directory / "out")], codes=(0, 2, 3))


# -- CSV datasets ----------------------------------------------------------------------------

CSV_CELLS = st.one_of(
    st.sampled_from(["BTXSE", "BPVVE", "BTSSXXTVVE", "ab", "0", "1", "1.0", "true", "no", "valid", "nan", "inf",
                     "", " ", '"', '""', ",", ";", "\t", "\n", "\r", "\x00", "é", "\ufeff", "\u2028", "a,b",
                     '"a""b"', "#", "string", "valid"]),
    st.text(max_size=6),
)
LABELS = st.sampled_from(["0", "1", "yes", "no", "1.0", "a", "b", " 1", "", "2"])
HEADERS = st.one_of(
    st.sampled_from([["string", "valid"], ["", "string", "valid"], ["valid", "string"], ["string"], ["valid"],
                     ["string", "valid", "string"], [" string ", "valid "], ["String", "Valid"], ["seq", "kind"]]),
    st.lists(st.sampled_from(["string", "valid", "x", ""]) | st.text(max_size=4), max_size=4),
)


LABEL_PAIRS = st.sampled_from([("0", "1"), ("no", "yes"), ("False", "True"), ("invalid", "valid"), ("a", "b"),
                               ("1", "2"), ("-1", "1"), ("0.0", "1.0"), ("n", "Y"), ("1", "1.0"), ("x", "X")])
REBER = st.text("BTSXPVE", min_size=1, max_size=8)
STRINGS = st.one_of(REBER, REBER, REBER, st.text(min_size=1, max_size=4), CSV_CELLS)
SPECIAL_CSV = [
    b"", b"\n\n\n", b"\xef\xbb\xbf", b"\xef\xbb\xbfstring,valid\nab,0\nba,1\n", b"string,valid\n",
    b"string,valid\n" + b"a" * 200_000 + b",1\nb,0\n",  # a field over csv's field size limit
    b'string,valid\n"ab,1\nba,0\n',  # an unclosed quote
    b"string,valid\nab,0\nba,1\n\x00\x00\n", b"string,valid\r\nab,0\r\nba,1\r\n",
    b"string,valid\nab,0\nba,1\n" * 3, b"\xff\xfe" + "string,valid\nab,0\nba,1\n".encode("utf-16-le"),
    b"string,valid\na,nan\nb,NaN\n", b"string,valid\na,0\n", b"string,valid\na,0\na,1\n",
]


@st.composite
def csv_bytes(draw) -> bytes:
    """A CSV file: mostly a table of strings and two labels (sometimes with an index or
    other columns), damaged in a few places (cells, rows, labels, header), written with
    quoting or naively with another delimiter, line ending or encoding; or raw bytes."""
    shape = draw(st.sampled_from(["table", "table", "table", "table", "raw", "special"]))
    if shape == "raw":
        return draw(st.binary(max_size=200))
    if shape == "special":
        return draw(st.sampled_from(SPECIAL_CSV))
    labels = draw(LABEL_PAIRS)
    header = draw(st.sampled_from([["string", "valid"], ["valid", "string"], ["", "string", "valid"],
                                   ["string", "valid", "note"]]))
    rows = []
    for _ in range(draw(st.integers(0, 14))):
        row = {"string": draw(STRINGS), "valid": draw(st.sampled_from(labels)), "": str(len(rows)), "note": "x"}
        rows.append([row[column] for column in header])
    for damage in draw(st.lists(st.sampled_from(["cell", "row", "label", "header", "blank"]), max_size=2)):
        if damage == "header":
            header = draw(HEADERS)
        elif damage == "row" or not rows:
            rows.insert(draw(st.integers(0, len(rows))), draw(st.lists(CSV_CELLS, max_size=len(header) + 1)))
        elif damage == "blank":
            rows.insert(draw(st.integers(0, len(rows))), [])
        else:
            row = draw(st.sampled_from(rows))
            if row:
                row[draw(st.integers(0, len(row) - 1))] = draw(LABELS if damage == "label" else CSV_CELLS)
    if draw(st.sampled_from([True, True, False])):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows([header, *rows])
        text = buffer.getvalue()
    else:
        sep = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
        end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        text = end.join(sep.join(row) for row in [header, *rows]) + draw(st.sampled_from(["", end, end * 2]))
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    return text.encode(encoding, "replace")


def write_csv(directory: Path, content: bytes) -> Path:
    path = directory / "data.csv"
    path.write_bytes(content)
    note(f"CSV file: {content[:3000]!r}")
    return path


def check_csv(path: Path) -> None:
    """What ``sparsernn train --dataset PATH`` does before it stores anything, then the
    encoding its trial does before training."""
    study = study_from_dict({"seeds": [0], "cells": ["gru"], "data": {"dataset": str(path)}}, source="arguments")
    check_study(study)
    expand(study)
    splits = study.data.load(seed=0)
    vocab = Vocabulary.from_strings(splits.train.strings)
    encode_splits(vocab, splits)


@pytest.mark.slow
@fault("fuzzed CSV datasets (cells, quoting, delimiters, encodings, BOMs, huge fields)")
@fuzz(max_examples=200)
@given(content=csv_bytes())
def test_fuzzed_csv_files(tmp_path, content):
    accepted_or_refused(check_csv, write_csv(fresh_dir(tmp_path), content), what="CSV dataset")


@pytest.mark.slow
@fault("fuzzed CSV datasets through 'sparsernn train' (tiny trainings)")
@fuzz(max_examples=20, shrink=False)
@given(content=csv_bytes())
def test_fuzzed_csv_files_through_the_command_line(tmp_path, capfd, content):
    directory = fresh_dir(tmp_path)
    path = write_csv(directory, content)
    run_cli(capfd, ["train", "--dataset", str(path), "--cell", "gru", "--hidden", "2", "--embedding", "2",
                    "--epochs", "1", "--batch-size", "4", "--out", str(directory / "out")])


# -- graph files ------------------------------------------------------------------------------

NODES = st.one_of(st.integers(-2, 15), st.text(NO_NUL, max_size=3),
                  st.sampled_from([True, None, 1.5, 2**70, [], {}, "0", "10", "٣"]))
NODE_LISTS = st.one_of(
    st.lists(st.integers(0, 11), min_size=1, max_size=10, unique=True),
    st.lists(st.integers(-(2**70), 2**70), min_size=1, max_size=4, unique=True),
    st.lists(st.text(NO_NUL, min_size=1, max_size=3), min_size=1, max_size=8, unique=True),
    st.lists(st.integers(0, 5) | st.text("abc", min_size=1, max_size=2), max_size=8, unique=True),  # mixed types
    st.lists(NODES, max_size=8),  # wrong types, repeated nodes
)


@st.composite
def graph_json(draw) -> str:
    """Edge-list JSON: mostly a graph in the format (undirected, or directed with or
    without cycles; self-loops) with a few parts damaged (types, unknown nodes, missing or
    extra keys); or junk objects; or text that only starts like JSON."""
    shape = draw(st.sampled_from(["doc", "doc", "doc", "doc", "junk", "text"]))
    if shape == "text":
        return "{" + draw(st.text(max_size=30))
    if shape == "junk":
        return json.dumps(draw(st.dictionaries(KEY_TEXT, JUNK, max_size=4)), allow_nan=True)
    nodes = draw(NODE_LISTS)
    directed = draw(st.booleans())
    pairs = st.lists(st.sampled_from(nodes), min_size=2, max_size=2) if nodes else st.just([])
    if directed and nodes and draw(st.booleans()):  # acyclic: edges from earlier to later nodes
        pairs = pairs.map(lambda e: sorted(e, key=nodes.index)).filter(lambda e: e[0] != e[1])
    document = {"directed": directed, "nodes": nodes, "edges": draw(st.lists(pairs, max_size=14))}
    if draw(st.booleans()):
        document["graph"] = draw(st.dictionaries(KEY_TEXT, SCALARS, max_size=3))
    for damage in draw(st.lists(st.sampled_from(["directed", "nodes", "edges", "graph", "drop", "extra", "edge"]),
                                max_size=2)):
        if damage == "drop":
            document.pop(draw(st.sampled_from(["directed", "nodes", "edges"])), None)
        elif damage == "extra":
            document[draw(KEY_TEXT)] = draw(JUNK)
        elif damage == "edge" and isinstance(document.get("edges"), list):
            document["edges"].append(draw(st.lists(NODES, max_size=3) | JUNK))
        elif damage != "edge":
            document[damage] = draw(JUNK)
    text = json.dumps(document, allow_nan=True)
    cut = draw(st.none() | st.none() | st.none() | st.integers(1, max(len(text), 1)))
    return text if cut is None else text[:cut]


TYPED_VALUES = {"int": st.integers(-5, 5).map(str), "long": st.integers().map(str),
                "float": st.floats().map(str), "double": st.floats(0, 1).map(str),
                "boolean": st.sampled_from(["true", "false", "1", "0"]), "string": st.text("abc xyz", max_size=6)}
BAD_VALUES = st.one_of(st.sampled_from(["", "x", "1.5", "nan", "inf", "yes", "9" * 30, "&amp;", "&lt;b&gt;"]),
                       st.text(NO_NUL, max_size=5).map(escape))
DOCTYPES = [
    '<!DOCTYPE graphml [<!ENTITY e "7">]>',
    '<!DOCTYPE graphml [<!ENTITY a "aaaaaaaaaa"><!ENTITY e "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    '<!DOCTYPE graphml [<!ENTITY e SYSTEM "file://SECRET">]>', '<!DOCTYPE graphml SYSTEM "file://SECRET">',
    '<!DOCTYPE graphml [<!ENTITY % p SYSTEM "file://SECRET"> %p;]>',
]
EXTRA_ELEMENTS = [
    '<hyperedge><endpoint node="0"/><endpoint node="1"/></hyperedge>', '<graph id="g2" edgedefault="directed"/>',
    '<node id="p"><port name="x"/></node>', '<node id="n"><graph id="inner"><node id="m"/></graph></node>',
    '<data key="d0">1</data>', "<!-- comment -->", "<![CDATA[x]]>", "<desc>x</desc>", "<node/>",
    '<edge source="0"/>', '<edge source="0" target="nowhere"/>', "</graph><graph>", '<key id="d0"/>',
]


@st.composite
def graphml(draw) -> str:
    """GraphML: mostly a graph in the format (keys of every attr.type with matching data,
    undirected or directed, acyclic or not) with a few parts damaged (entities internal
    and external, other elements, namespaces, prologs, ids, data values, truncation)."""
    keys = draw(st.lists(st.tuples(st.sampled_from(["node", "edge", "graph", "all"]), st.sampled_from(
        sorted(TYPED_VALUES)), st.sampled_from(["w", "label", "name"])), max_size=3))
    ids = draw(st.lists(st.integers(0, 11).map(str) | st.text("abcXYZ_-.0123", min_size=1, max_size=3),
                        max_size=10, unique=True))
    directed = draw(st.sampled_from(["directed", "undirected"]))

    def data(where: str) -> str:
        own = [(i, t) for i, (f, t, _) in enumerate(keys) if f in (where, "all")]
        if not own:
            return ""
        i, kind = draw(st.sampled_from(own))
        return f'<data key="d{i}">{escape(draw(TYPED_VALUES[kind]))}</data>'

    damages = draw(st.lists(st.sampled_from(["doctype", "extra", "namespace", "prolog", "id", "value", "key",
                                             "edgedefault", "truncate"]), max_size=2))
    parts = [f'<key id="d{i}" for="{f}" attr.type="{t}" attr.name="{n}"/>' for i, (f, t, n) in enumerate(keys)]
    if "key" in damages:
        parts.append(f'<key id="d{len(keys)}" for="{draw(st.sampled_from(["node", "bogus"]))}" '
                     f'attr.type="{draw(st.sampled_from(["int", "bogus", ""]))}" attr.name="w"/>')
    if "doctype" in damages and ids:
        ids[0] = "&e;"
    if "id" in damages and ids:
        ids[-1] = draw(st.text(NO_NUL, max_size=3))
    edgedefault = f'edgedefault="{directed}"' if "edgedefault" not in damages else draw(
        st.sampled_from(['edgedefault="x"', ""]))
    parts.append(f"<graph {edgedefault}>")
    for node in ids:
        node_id = node if node.startswith("&") else escape(node, {'"': "&quot;"})
        parts.append(f'<node id="{node_id}">{data("node")}</node>')
    if ids:
        pairs = st.lists(st.sampled_from(ids), min_size=2, max_size=2)
        if draw(st.booleans()):  # acyclic: edges from earlier to later nodes
            pairs = pairs.map(lambda e: sorted(e, key=ids.index)).filter(lambda e: e[0] != e[1])
        for source, target in draw(st.lists(pairs, max_size=14)):
            extra = draw(st.sampled_from(["", "", "", ' directed="true"', ' directed="false"', ' id="e0"']))
            parts.append(f"<edge source={quoteattr(source)} target={quoteattr(target)}{extra}>{data('edge')}</edge>")
    if "value" in damages:
        parts.append(f'<node id="v"><data key="d0">{draw(BAD_VALUES)}</data></node>')
    if "extra" in damages:
        parts.append(draw(st.sampled_from(EXTRA_ELEMENTS)))
    parts.append(f"{data('graph')}</graph>")
    namespace = 'xmlns="http://graphml.graphdrawing.org/xmlns"'
    if "namespace" in damages:
        namespace = draw(st.sampled_from(["", 'xmlns="urn:x"', 'xmlns:y="http://www.yworks.com/xml/graphml"']))
    prolog = '<?xml version="1.0" encoding="UTF-8"?>'
    if "prolog" in damages:
        prolog = draw(st.sampled_from(["", '<?xml version="1.1"?>', '<?xml version="1.0" encoding="latin-1"?>',
                                       '<?xml version="2.0"?>', '<?xml version="1.0" encoding="utf-16"?>']))
    doctype = draw(st.sampled_from(DOCTYPES)) if "doctype" in damages else ""
    text = f"{prolog}{doctype}<graphml {namespace}>" + "".join(parts) + "</graphml>"
    return text[: draw(st.integers(1, len(text)))] if "truncate" in damages else text


GRAPH_TEXT = st.one_of(
    graph_json(), graphml(),
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)).map(lambda e: f"{e[0]} {e[1]}"), max_size=5).map(
        "\n".join),  # an edge list: not a format sparsernn reads
    st.text(max_size=30), st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
)
SECRET = "the secret text of a local file"


def write_graph_file(directory: Path, text: str | bytes) -> Path:
    (directory / "secret.txt").write_text(SECRET)
    path = directory / "graph.txt"
    if isinstance(text, str):
        text = text.replace("SECRET", str(directory / "secret.txt")).encode("utf-8", "surrogatepass")
    path.write_bytes(text)
    note(f"graph file: {text[:3000]!r}")
    return path


def structure_study(path: Path, readout: str, orientation: str) -> dict:
    return {"kind": "structure", "name": "fz", "cells": ["gru"], "seeds": [0], "data": {"num_strings": 20},
            "model": {"embedding_dim": 2}, "training": {"epochs": 0},
            "structure": {"generators": [], "files": [str(path)], "readout": readout, "orientation": orientation}}


def check_graph_file(path: Path, readout: str, orientation: str) -> None:
    """What ``sparsernn run`` does with a structure study's graph file before it stores
    anything, then the DAG each trial builds from it."""
    study = study_from_dict(structure_study(path, readout, orientation))
    check_study(study)
    for trial in expand(study):
        dag = trial_graph(trial.spec.graph)
        assert dag.number_of_nodes() >= 1
        labels = " ".join(str(v) for _, v in dag.nodes(data="label"))
        assert SECRET not in labels, "an external entity was read"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:GraphML port tag not supported")
@fault("fuzzed graph files (edge-list JSON, GraphML with entities, other text)")
@fuzz(max_examples=200)
@given(text=GRAPH_TEXT, readout=st.sampled_from(["sinks", "last_layer"]),
       orientation=st.sampled_from(["index", "random"]))
def test_fuzzed_graph_files(tmp_path, text, readout, orientation):
    path = write_graph_file(fresh_dir(tmp_path), text)
    accepted_or_refused(check_graph_file, path, readout, orientation, what="graph file")


@pytest.mark.slow
@fault("fuzzed graph files through 'sparsernn run' (tiny trainings)")
@fuzz(max_examples=20, shrink=False)
@given(text=st.one_of(graph_json(), graphml()), readout=st.sampled_from(["sinks", "last_layer"]))
def test_fuzzed_graph_files_through_the_command_line(tmp_path, capfd, text, readout):
    directory = fresh_dir(tmp_path)
    path = write_graph_file(directory, text)
    config = write_yaml(directory, structure_study(path, readout, "index"))
    run_cli(capfd, ["run", str(config), "--workers", "1", "--out", str(directory / "out")])


# -- checkpoints -----------------------------------------------------------------------------


def _real_checkpoint() -> bytes:
    torch.manual_seed(0)
    model = SequenceClassifier("lstm", 6, hidden_sizes=[3, 2], embedding_dim=2)
    with tempfile.TemporaryDirectory() as directory:
        path = save_checkpoint(Path(directory) / "m.pt", model, Vocabulary(list("abcd")), classes=["no", "yes"],
                               trial_id="r")
        return path.read_bytes()


REAL = _real_checkpoint()
PAYLOAD = torch.load(io.BytesIO(REAL), weights_only=True)


class Evil:
    """Unpickling it runs ``command``: creates the file ``path`` (a sentinel)."""

    def __init__(self, path: str, how: str = "exec"):
        self.path, self.how = path, how

    def __reduce__(self):
        if self.how == "system":
            return os.system, (f"touch {self.path!r}",)
        return exec, (f"open({self.path!r}, 'w').close()",)


TENSORS = st.one_of(
    st.tuples(st.lists(st.integers(0, 4), max_size=3),
              st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64, torch.bool, torch.uint8,
                               torch.complex64])).map(lambda sd: torch.zeros(sd[0], dtype=sd[1])),
    st.sampled_from([torch.tensor(float("nan")), torch.zeros(1).as_strided((10**5, 10**5), (0, 0)),
                     torch.zeros(3).to_sparse()]),
)
CHECKPOINT_JUNK = st.one_of(JUNK, TENSORS, st.lists(TENSORS, max_size=2),
                            st.dictionaries(SHORT_TEXT, TENSORS, max_size=2))


@st.composite
def damaged_payload(draw) -> dict:
    """The payload of a real checkpoint with parts replaced, removed or added."""
    payload = {**PAYLOAD, "hparams": dict(PAYLOAD["hparams"]), "state_dict": dict(PAYLOAD["state_dict"])}
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["top", "hparams", "state_dict"]))
        node = payload if where == "top" else payload[where] if isinstance(payload.get(where), dict) else payload
        keys = sorted(node) + ["extra"]
        key = draw(st.sampled_from(keys))
        action = draw(st.sampled_from(["replace", "replace", "delete"]))
        if action == "delete":
            node.pop(key, None)
        elif where == "hparams":
            node[key] = draw(maybe(st.integers(1, 4) | st.sampled_from([10**6, 10**12, 0, -1, [2, 2], [10**9]])))
        else:
            node[key] = draw(CHECKPOINT_JUNK)
    return payload


def saved(payload) -> bytes:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


@st.composite
def zip_checkpoint(draw, sentinel: str) -> bytes:
    """A zip archive shaped like torch's, with wrong members or contents."""
    real = zipfile.ZipFile(io.BytesIO(REAL))
    members = {name: real.read(name) for name in real.namelist()}
    names = sorted(members)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from([*names, "archive/data.pkl", "archive/data/0", "archive/version", "x"]))
        change = draw(st.sampled_from(["drop", "bytes", "pickle", "evil", "truncate"]))
        if change == "drop":
            members.pop(name, None)
        elif change == "bytes":
            members[name] = draw(st.binary(max_size=40))
        elif change == "pickle":
            members[name] = pickle.dumps(draw(JUNK), protocol=draw(st.integers(0, pickle.HIGHEST_PROTOCOL)))
        elif change == "evil":
            members[name] = pickle.dumps({"format": FORMAT, "x": Evil(sentinel)}, protocol=2)
        else:
            members[name] = members.get(name, b"")[: draw(st.integers(0, 20))]
    buffer = io.BytesIO()
    compression = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@st.composite
def checkpoint_bytes(draw, sentinel: str) -> bytes:
    shape = draw(st.sampled_from(["raw", "truncated", "flipped", "payload", "payload", "weights", "zip", "evil"]))
    note(f"checkpoint: {shape}")
    if shape == "raw":
        prefix = draw(st.sampled_from([b"", b"PK\x03\x04", b"\x80\x02", pickle.dumps(None)]))
        return prefix + draw(st.binary(max_size=80))
    if shape == "truncated":
        return REAL[: draw(st.integers(0, len(REAL) - 1))]
    if shape == "flipped":
        data = bytearray(REAL)
        for position in draw(st.lists(st.integers(0, len(REAL) - 1), min_size=1, max_size=4)):
            data[position] ^= draw(st.integers(1, 255))
        return bytes(data)
    if shape == "payload":
        return saved(draw(damaged_payload()))
    if shape == "weights":  # the right shapes, any values (nan, inf, all masks off)
        fill = draw(st.sampled_from([0.0, 1.0, -1e30, float("nan"), float("inf")]))
        weights = {name: torch.full_like(tensor, fill) if tensor.is_floating_point() else
                   torch.zeros_like(tensor) if draw(st.booleans()) else tensor
                   for name, tensor in PAYLOAD["state_dict"].items()}
        return saved({**PAYLOAD, "state_dict": weights})
    if shape == "zip":
        return draw(zip_checkpoint(sentinel))
    evil = Evil(sentinel, draw(st.sampled_from(["exec", "system"])))
    wrapped = draw(st.sampled_from(["alone", "metadata", "hparams", "vocab"]))
    if wrapped == "alone":
        obj = evil
    else:
        obj = {**PAYLOAD, wrapped: {"x": evil} if wrapped != "vocab" else [evil]}
    if draw(st.booleans()):
        return pickle.dumps(obj, protocol=draw(st.integers(0, pickle.HIGHEST_PROTOCOL)))  # a plain pickle
    buffer = io.BytesIO()
    torch.save(obj, buffer)  # torch's own zip format
    return buffer.getvalue()


SENTINEL_NAME = "code-ran"


def check_checkpoint(path: Path):
    saved = load_checkpoint(path)
    model, vocab = saved.model, saved.vocab
    assert isinstance(model, SequenceClassifier) and isinstance(saved.metadata, dict)
    if vocab is not None:  # what a pruning trial does next: encode its data with the vocabulary
        tokens, lengths = vocab.encode(["".join(vocab.symbols) or "a"])
        model.eval()
        with torch.no_grad():
            model(tokens, lengths)
    return model


@pytest.mark.slow
@fault("fuzzed checkpoints (bytes, truncations, damaged payloads, zips, pickles that run code)")
@fuzz(max_examples=150)
@given(data=st.data())
def test_fuzzed_checkpoints(tmp_path, data):
    directory = fresh_dir(tmp_path)
    sentinel = directory / SENTINEL_NAME
    path = directory / "model.pt"
    path.write_bytes(data.draw(checkpoint_bytes(str(sentinel))))
    accepted_or_refused(check_checkpoint, path, what="load_checkpoint")
    assert not sentinel.exists(), "loading a checkpoint ran code from it"


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("how", ["exec", "system"])
@pytest.mark.parametrize("container", ["pickle", "torch.save"])
@fault("a checkpoint whose pickle runs code when unpickled", exit="2",
       outcome="refused with one line, the code never runs")
def test_a_checkpoint_that_runs_code_is_refused_without_running_it(tmp_path, protocol, how, container):
    sentinel = tmp_path / SENTINEL_NAME
    payload = {**PAYLOAD, "metadata": {"x": Evil(str(sentinel), how)}}
    path = tmp_path / "model.pt"
    if container == "pickle":
        path.write_bytes(pickle.dumps(payload, protocol=protocol))
    else:
        torch.save(payload, path, pickle_protocol=max(protocol, 2))
    with pytest.raises(InputError, match="cannot be read safely") as info:
        load_checkpoint(path)
    check_message(str(info.value), "load_checkpoint")
    assert not sentinel.exists()


def _damaged(**changes) -> dict:
    payload = {**PAYLOAD, "hparams": dict(PAYLOAD["hparams"]), "state_dict": dict(PAYLOAD["state_dict"])}
    for key, value in changes.items():
        node, _, name = key.rpartition("__")  # "state_dict__readout.bias": that tensor
        target = payload[node] if node else payload
        if value is DELETE:
            del target[name]
        else:
            target[name] = value
    return payload


# damaged payloads that once raised TypeError, KeyError or RuntimeError (a traceback, or a
# driver that died checking a base's checkpoint) or allocated what the hparams said
DAMAGED = {
    "hparams None": _damaged(hparams=None), "hparams a list": _damaged(hparams=[1]),
    "no hparams": _damaged(hparams=DELETE), "an unknown hparam": _damaged(hparams__zzz=1),
    "no cell": _damaged(hparams__cell=DELETE), "state_dict None": _damaged(state_dict=None),
    "no state_dict": _damaged(state_dict=DELETE),
    "a string for a tensor": _damaged(**{"state_dict__readout.bias": "x"}),
    "no vocab": _damaged(vocab=DELETE), "vocab a number": _damaged(vocab=5), "format only": {"format": FORMAT},
    "metadata a list": _damaged(metadata=[1]), "a missing tensor": _damaged(**{"state_dict__readout.bias": DELETE}),
    "terabyte hparams, small weights": _damaged(hparams__vocab_size=10**6, hparams__embedding_dim=10**6),
    "terabyte hparams, weights of zero strides": _damaged(
        hparams__vocab_size=10**6, hparams__embedding_dim=10**6,
        **{"state_dict__embed.weight": torch.zeros(1).as_strided((10**6, 10**6), (0, 0))}),
    "100,000 layers": _damaged(hparams__hidden_sizes=[1] * 10**5),
    "complex weights": _damaged(**{"state_dict__readout.bias": torch.zeros(2, dtype=torch.complex64)}),
    "a vocabulary larger than the embedding": _damaged(vocab=list("abcdefgh")),
}


@pytest.mark.parametrize("payload", DAMAGED.values(), ids=DAMAGED.keys())
@fault("a checkpoint with damaged parts (hparams, weights, vocabulary)", exit="2",
       outcome="refused with one line naming the file; nothing allocated for absurd sizes")
def test_damaged_checkpoints_are_refused_in_one_line(tmp_path, payload):
    path = tmp_path / "model.pt"
    torch.save(payload, path)
    with time_limit(IN_PROCESS_LIMIT, "load_checkpoint"), pytest.raises(InputError, match="model.pt") as info:
        load_checkpoint(path)
    check_message(str(info.value), "load_checkpoint")


@pytest.fixture(scope="module")
def pruned_once(tmp_path_factory):
    """A finished tiny pruning study: its base's checkpoint is what the fuzz replaces."""
    directory = tmp_path_factory.mktemp("pruned")
    config = directory / "study.yaml"
    config.write_text(yaml.safe_dump(TINY["pruning"]))
    assert main(["run", str(config), "--workers", "1", "--out", str(directory / "out")]) == 0
    with sqlite3.connect(directory / "out" / "results.sqlite") as db:
        (base,), = db.execute("SELECT run_id FROM runs WHERE kind = 'dense'").fetchall()
    assert (directory / "out" / "checkpoints" / f"{base}.pt").is_file()
    return config, directory / "out", f"{base}.pt"


@pytest.mark.slow
@fault("fuzzed base checkpoints read by pruning trials through 'sparsernn run'", exit="0, 2 or 3")
@fuzz(max_examples=10, shrink=False)
@given(data=st.data())
def test_fuzzed_checkpoints_through_the_command_line(tmp_path, capfd, pruned_once, data):
    config, out, name = pruned_once
    directory = fresh_dir(tmp_path)
    sentinel = directory / SENTINEL_NAME
    shutil.copytree(out, directory / "out")
    (directory / "out" / "checkpoints" / name).write_bytes(data.draw(checkpoint_bytes(str(sentinel))))
    # a new sparsity: a new pruning trial, which starts from the (finished) base's checkpoint
    run_cli(capfd, ["run", str(config), "--workers", "1", "--set", "pruning.sparsities=[0.25]",
                    "--out", str(directory / "out")], codes=(0, 2, 3))
    assert not sentinel.exists(), "loading a checkpoint ran code from it"


# -- hostile inputs found by fuzzing, kept as fixed cases ------------------------------------


def alias_bomb(depth: int) -> str:
    """A YAML flow list of 9**depth strings written in a few hundred bytes (anchors and aliases)."""
    items = ["&l0 [x, x, x, x, x, x, x, x, x]"]
    items += [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, depth)]
    return "[" + ", ".join(items) + "]"


GRAPHML_BOMB = ('<?xml version="1.0"?><!DOCTYPE graphml [<!ENTITY a "aaaaaaaaaa">'
                + "".join(f'<!ENTITY {c} "' + f"&{p};" * 10 + '">' for p, c in zip("abcdefgh", "bcdefghi"))
                + ']><graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="directed">'
                  '<node id="&i;"/></graph></graphml>')
GRAPHML_EXTERNAL = ('<?xml version="1.0"?><!DOCTYPE graphml [<!ENTITY x SYSTEM "file://{dir}/secret.txt">]>'
                    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="directed">'
                    '<node id="&x;"/></graph></graphml>')


def structure_yaml(file: str) -> str:
    return ("kind: structure\nseeds: [0]\ncells: [gru]\ndata: {num_strings: 20}\nmodel: {embedding_dim: 2}\n"
            f"training: {{epochs: 0}}\nstructure: {{generators: [], files: [{file}]}}\n")


TINY_YAML = ("seeds: [0]\ncells: [gru]\ndata: {num_strings: 20}\nmodel: {embedding_dim: 2, hidden_sizes: [2]}\n"
             "training: {epochs: 1}\n")


def hostile(case: str, files: dict[str, str], args: list[str], *, bug: str | None = None,
            codes: tuple[int, ...] = (2,), limit: float = IN_PROCESS_LIMIT, slow: bool = False):
    """A fixed input: ``files`` (``{dir}`` is the test's directory) and the command's ``args``;
    ``bug`` marks a known failure (xfail, not strict: it passes once fixed); ``slow``, a
    case that trains or (while its bug lasts) runs into the time limit."""
    marks = [pytest.mark.fault(case, outcome="refused with one line; no traceback, no hang, no code run",
                               exit="/".join(map(str, codes)), lost="nothing", section="Fuzzing")]
    if bug:
        marks.append(pytest.mark.xfail(strict=False, reason=bug))
    if slow:
        marks.append(pytest.mark.slow)
    return pytest.param(files, args, codes, limit, id=case, marks=marks)


HOSTILE = [
    hostile("YAML integer of 5,000 digits", {"s.yaml": "seeds: [" + "9" * 5000 + "]\n"}, ["run", "{dir}/s.yaml"]),
    hostile("JSON graph file with an integer of 5,000 digits",
            {"s.yaml": structure_yaml("g.json"), "g.json": '{"directed": true, "nodes": [' + "9" * 5000
             + '], "edges": []}'}, ["run", "{dir}/s.yaml"]),
    hostile("CSV dataset path with a NUL byte", {"s.yaml": 'seeds: [0]\ndata: {dataset: "a\\0b.csv"}\n'},
            ["run", "{dir}/s.yaml"]),
    hostile("graph file path with a NUL byte", {"s.yaml": structure_yaml('"a\\0b.json"')}, ["run", "{dir}/s.yaml"]),
    hostile("config key with a line break", {"s.yaml": 'seeds: [0]\n"a\\nsparsernn: error: forged": 1\n'},
            ["run", "{dir}/s.yaml"]),
    hostile("--set key with a line break", {"s.yaml": "seeds: [0]\n"}, ["run", "{dir}/s.yaml", "--set", "a\nb=1"]),
    hostile("config key with a carriage return", {"s.yaml": 'seeds: [0]\n"a\\rsparsernn: error: forged": 1\n'},
            ["run", "{dir}/s.yaml"]),
    hostile("config key with a terminal escape sequence",
            {"s.yaml": 'seeds: [0]\n"a\\e[1A\\e[2Ksparsernn: error: forged": 1\n'}, ["run", "{dir}/s.yaml"]),
    hostile("YAML alias bomb (9**9 strings in 400 bytes)", {"s.yaml": f"seeds: [0]\nname: {alias_bomb(9)}\n"},
            ["run", "{dir}/s.yaml"]),
    hostile("a study of 1.6 billion trials (every size within its bound)",
            {"s.yaml": "kind: structure\nseeds: [" + ", ".join(map(str, range(10_000))) + "]\n"
             "structure: {graphs: 10000, generators: [barabasi_albert, barabasi_albert_star, watts_strogatz, "
             "erdos_renyi]}\n"}, ["run", "{dir}/s.yaml"], slow=True),
    hostile("iterative pruning by 1e-300 per round",
            {"s.yaml": TINY_YAML + "kind: pruning\npruning: {sparsities: [0.5], retrain_epochs: 0, "
             "schedules: [iterative], iterative: {per_round: 1.0e-300}}\n"}, ["run", "{dir}/s.yaml"],
            limit=CLI_LIMIT),
    hostile("GraphML entity bomb (10**9 characters)", {"s.yaml": structure_yaml("g.graphml"),
                                                       "g.graphml": GRAPHML_BOMB}, ["run", "{dir}/s.yaml"]),
    hostile("GraphML external entity (a local file)", {"s.yaml": structure_yaml("g.graphml"),
                                                       "g.graphml": GRAPHML_EXTERNAL}, ["run", "{dir}/s.yaml"]),
    hostile("YAML tags that would run code",
            {"s.yaml": "seeds: [0]\nname: !!python/object/apply:os.system ['touch {dir}/" + SENTINEL_NAME + "']\n"},
            ["run", "{dir}/s.yaml"]),
    hostile("YAML alias bomb, small (9**5 strings)", {"s.yaml": f"seeds: [0]\nname: {alias_bomb(5)}\n"},
            ["run", "{dir}/s.yaml"]),
]


@pytest.mark.parametrize("files, args, codes, limit", HOSTILE)
def test_hostile_inputs(tmp_path, capfd, files, args, codes, limit):
    (tmp_path / "secret.txt").write_text(SECRET)
    for name, content in files.items():
        (tmp_path / name).write_text(content.replace("{dir}", str(tmp_path)), encoding="utf-8")
    argv = [arg.replace("{dir}", str(tmp_path)) for arg in args] + ["--workers", "1", "--out", str(tmp_path / "out")]
    _, out, err = run_cli(capfd, argv, codes=codes, limit=limit)
    assert SECRET not in out + err, "an external entity was read"
    assert not (tmp_path / SENTINEL_NAME).exists(), "a YAML tag ran code"
