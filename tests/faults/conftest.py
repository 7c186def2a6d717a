"""The fault-injection suite: each test injects one fault or bad input and asserts what
an operator sees (exit status, one line, nothing lost).

A test names its case with the ``fault`` marker::

    @pytest.mark.fault("two drivers on one directory", outcome="second exits 2 naming the holder",
                       exit=2, lost="nothing")

``python -m pytest tests/faults --reliability-report PATH`` writes every marked test's
case and result as JSON; ``scripts/reliability.py`` turns that into docs/reliability.md.
"""

import json

import pytest


def pytest_addoption(parser):
    parser.addoption("--reliability-report", default=None, metavar="PATH",
                     help="write each fault case of tests/faults and its result to PATH (JSON)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "fault(case, outcome, exit, lost): a fault-injection case, listed in docs/reliability.md")
    config._fault_cases = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    marker = item.get_closest_marker("fault")
    if marker is None or not (report.when == "call" or (report.when == "setup" and report.outcome != "passed")):
        return
    case = marker.args[0] if marker.args else marker.kwargs["case"]
    item.config._fault_cases.append({
        "case": case, "outcome": marker.kwargs.get("outcome", ""), "exit": marker.kwargs.get("exit"),
        "lost": marker.kwargs.get("lost", "nothing"), "test": item.nodeid, "result": report.outcome,
        "section": marker.kwargs.get("section", ""),
    })


def pytest_sessionfinish(session):
    path = session.config.getoption("--reliability-report", None)
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(session.config._fault_cases, f, indent=1)
