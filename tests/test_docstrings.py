"""Every docstring example in the package runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import sparsernn

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(sparsernn.__path__, prefix="sparsernn.") if info.name != "sparsernn.cli"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_documented_modules_have_examples():
    documented = [name for name in MODULES if doctest.DocTestFinder().find(importlib.import_module(name))
                  and any(t.examples for t in doctest.DocTestFinder().find(importlib.import_module(name)))]
    for name in ("sparsernn.data.reber", "sparsernn.nn.masked", "sparsernn.nn.classifier", "sparsernn.seeding"):
        assert name in documented
