"""Every error the public API raises is an `HpsearchError` (issue 31), subclassing ValueError or
TypeError where Python and scikit-learn expect one; causes are chained unless they are noise.

Three scans of the source (each shown to catch a planted violation) and bad inputs to the
public API:
- no exception class outside `hpsearch/exceptions.py`, and every class there is under
  `HpsearchError` (but the two requests, `StopStudy` and `TrialPruned`);
- no `raise` of a built-in exception, but where a protocol asks for one (listed below, each
  with its reason);
- no `raise ... from None` but where the cause is noise to a user: another HpsearchError given
  context, a did-you-mean, a missing file named as such, the user's own value that is not a
  number or a name; the CLI, which prints one line (listed below).
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import numpy as np
import pytest

import hpsearch as hp
from hpsearch import exceptions

PACKAGE = Path(hp.__file__).parent
REQUESTS = {"StopStudy", "TrialPruned"}  # control flow, not errors: raised by user code
# SIGTERM delivered as a KeyboardInterrupt: the CLI's own control flow, not an error
SIGNALS = {("cli/signals.py", "Terminated")}

# (module, enclosing function, exception): built-in exceptions a protocol asks for
PROTOCOL_RAISES = {
    # abstract hooks a subclass overrides
    ("execution/base.py", "submit", "NotImplementedError"),
    ("execution/base.py", "stop", "NotImplementedError"),
    ("pruners/base.py", "decide", "NotImplementedError"),
    ("strategies/tpe.py", "make_sampler", "NotImplementedError"),
    # a module's lazy __getattr__ and scikit-learn's available_if check raise AttributeError
    ("objectives/mlp/__init__.py", "__getattr__", "AttributeError"),
    ("__init__.py", "__getattr__", "AttributeError"),  # hp.connect loads the service lazily
    ("sklearn/search.py", "check", "AttributeError"),
    # the report socket's reader: EOFError is the end of its stream, caught by its caller
    ("execution/reports.py", "_recv_exact", "EOFError"),
    # a stored JSON column of the wrong type, caught at once and reported as damage
    ("storage/rows.py", "_decoded", "ValueError"),
}
# (module, caught exception as written): `from None` where the cause is noise to a user
NOISE_CAUSES = {
    "HpsearchError", "SpaceError", "StudyError", "EnsembleError", "ObjectiveError",
    "StudyMismatchError", "FileNotFoundError", "IsADirectoryError", "UnicodeDecodeError",
    "ImportError",
}
NOISE_AT = {
    ("study/told.py", "(TypeError, ValueError)"),  # the objective's value is not a number
    ("study/told.py", "ValueError"),  # an unknown state name
    ("execution/objective.py", "(TypeError, ValueError)"),  # a metric that is not a number
    ("direction.py", "ValueError"),  # a direction name that is not one: "expected ..." says it
    ("dimensions.py", "(TypeError, ValueError)"),  # a `when` that is not {parent: values}
    ("storage/lock.py", "OSError"),  # flock's EWOULDBLOCK: the lock is held, said as such
}


def builtin_exception(name: str | None) -> bool:
    found = getattr(builtins, name or "", None)
    return isinstance(found, type) and issubclass(found, BaseException)


def _name(node: ast.expr) -> str | None:
    node = node.func if isinstance(node, ast.Call) else node
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)


def exception_classes(source: str) -> list[str]:
    """Classes defined in `source` that derive from a built-in exception or an *Error."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and any(
                builtin_exception(_name(b)) or (_name(b) or "").endswith(("Error", "Exception"))
                for b in node.bases):
            found.append(node.name)
    return found


def builtin_raises(source: str) -> list[tuple[str, str]]:
    """(enclosing function, exception) of each `raise <built-in exception>` in `source`."""
    found = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) \
                else function
            if isinstance(child, ast.Raise) and child.exc is not None and builtin_exception(
                    _name(child.exc)):
                found.append((function, _name(child.exc)))
            visit(child, inner)

    visit(ast.parse(source), "<module>")
    return found


def causes_hidden(source: str) -> list[str]:
    """The caught exception (as written) of each `raise ... from None` in an except block."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ExceptHandler):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Raise) and isinstance(sub.cause, ast.Constant) \
                        and sub.cause.value is None:
                    found.append(ast.unparse(node.type) if node.type else "")
    return found


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), path.read_text(encoding="utf-8")


def test_every_exception_class_is_in_the_tree():
    outside = {(module, name) for module, source in modules() if module != "exceptions.py"
               for name in exception_classes(source)}
    assert outside == SIGNALS
    for name, value in vars(exceptions).items():
        if isinstance(value, type) and issubclass(value, BaseException) \
                and value.__module__ == exceptions.__name__:
            assert issubclass(value, hp.HpsearchError) or name in REQUESTS, name


def test_no_builtin_exception_is_raised_but_where_a_protocol_asks():
    found = {(module, function, name) for module, source in modules()
             if not module.startswith("testing/")  # the contract suites raise to test
             for function, name in builtin_raises(source)}
    assert found - PROTOCOL_RAISES == set()
    assert PROTOCOL_RAISES - found == set()  # the list stays true


def test_causes_are_chained_unless_noise():
    hidden = {(module, caught) for module, source in modules()
              if not module.startswith("cli/")  # one line for the user, by design
              for caught in causes_hidden(source)}
    assert {(m, c) for m, c in hidden if c not in NOISE_CAUSES} - NOISE_AT == set()


def test_the_scans_catch_planted_violations():
    planted = '''
class LocalError(ValueError):
    pass

def read(path):
    try:
        return open(path).read()
    except OSError as err:
        raise RuntimeError("cannot read") from None
    raise ValueError("bad")
'''
    assert exception_classes(planted) == ["LocalError"]
    assert builtin_raises(planted) == [("read", "RuntimeError"), ("read", "ValueError")]
    assert causes_hidden(planted) == ["OSError"]


SPACE = {"x": hp.Float(0.0, 1.0)}


def study() -> hp.Study:
    return hp.Study(SPACE, seed=0)


BAD_CALLS = {
    "Float low str": (lambda: hp.Float("a", 1), TypeError),
    "Int low bool": (lambda: hp.Int(True, 3), TypeError),
    "Float step str": (lambda: hp.Float(0, 1, step="0.1"), TypeError),
    "Categorical str": (lambda: hp.Categorical("abc"), ValueError),
    "Space empty": (lambda: hp.Space({}), ValueError),
    "Space not a dimension": (lambda: hp.Space({"x": 3}), ValueError),
    "Study direction": (lambda: hp.Study(SPACE, direction="up"), None),
    "Study strategy": (lambda: hp.Study(SPACE, strategy="nope"), None),
    "Study seed str": (lambda: hp.Study(SPACE, seed="a"), None),
    "Study seed negative": (lambda: hp.Study(SPACE, seed=-1), None),
    "Study pruner name": (lambda: hp.Study(SPACE, pruner="median"), None),
    "Study max failures str": (lambda: hp.Study(SPACE, max_consecutive_failures="3"), None),
    "Study strategy option": (lambda: hp.Study(SPACE, strategy="gp",
                                               strategy_options={"xi": "a"}), None),
    "Study unknown option": (lambda: hp.Study(SPACE, strategy_options={"nope": 1}), None),
    "optimize n_trials str": (lambda: study().optimize(lambda p: 0.0, n_trials="3"), None),
    "optimize n_jobs 0": (lambda: study().optimize(lambda p: 0.0, n_trials=1, n_jobs=0), None),
    "optimize timeout str": (lambda: study().optimize(lambda p: 0.0, n_trials=1,
                                                      timeout="a"), None),
    "optimize backend": (lambda: study().optimize(lambda p: 0.0, n_trials=1,
                                                  backend="spark"), None),
    "optimize objective": (lambda: study().optimize(3, n_trials=1), None),
    "optimize objective ref": (lambda: study().optimize("nope:nothing", n_trials=1), None),
    "optimize callbacks": (lambda: study().optimize(lambda p: 0.0, n_trials=1,
                                                    callbacks=[3]), None),
    "MedianPruner": (lambda: hp.MedianPruner(n_startup_trials=-1), ValueError),
    "ASHAPruner": (lambda: hp.ASHAPruner(reduction_factor=1), ValueError),
    "ThresholdPruner": (lambda: hp.ThresholdPruner(threshold="a"), ValueError),
    "NoImprovementStop": (lambda: hp.NoImprovementStop(0), ValueError),
    "hypervolume": (lambda: hp.hypervolume(np.zeros((3, 2)), [1.0]), ValueError),
    "load_study": (lambda: hp.load_study("/nonexistent/run"), None),
    "load_ensemble": (lambda: hp.load_ensemble("/nonexistent.npz"), None),
    "tell unknown trial": (lambda: study().tell(99, 1.0), None),
    "tell bad value": (lambda: (lambda s: s.tell(s.ask(), "abc"))(study()), None),
    "enqueue outside": (lambda: study().enqueue({"x": 5.0}), ValueError),
    "best_trial of none": (lambda: study().best_trial, None),
    "load_objective": (lambda: hp.load_objective("nope:nothing"), None),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_to_the_public_api_is_an_hpsearch_error(case):
    call, convention = BAD_CALLS[case]
    with pytest.raises(hp.HpsearchError) as caught:
        call()
    if convention is not None:
        assert isinstance(caught.value, convention)


@pytest.mark.parametrize(("keywords", "match"), [
    ({"n_trials": 0}, "n_trials"), ({"error_score": "warn"}, "error_score"),
    ({"strategy": "nope"}, "unknown strategy"), ({"seed": -1}, "seed"),
    ({"pruner": "median"}, "pruner"),
])
def test_searchcv_bad_params_are_value_errors(keywords, match):
    from sklearn.linear_model import LogisticRegression

    from hpsearch.sklearn import SearchCV

    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    search = SearchCV(LogisticRegression(), {"C": hp.Float(0.01, 10.0, log=True)}, cv=2,
                      **{"n_trials": 2, **keywords})
    with pytest.raises(ValueError, match=match) as caught:
        search.fit(X, y)
    assert isinstance(caught.value, hp.HpsearchError)
