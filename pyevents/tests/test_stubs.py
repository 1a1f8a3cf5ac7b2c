"""The type stubs (`_native.pyi`) describe the native module as it is at run time, and the
package is marked typed."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

import pyevents
from pyevents import _native

PACKAGE = Path(pyevents.__file__).resolve().parent
STUB = PACKAGE / "_native.pyi"


def stub_tree() -> ast.Module:
    return ast.parse(STUB.read_text())


def stub_classes() -> Dict[str, ast.ClassDef]:
    return {n.name: n for n in stub_tree().body if isinstance(n, ast.ClassDef)}


def stub_values() -> List[str]:
    names = []
    for n in stub_tree().body:
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
            names.append(n.target.id)
    return names


def stub_functions() -> Dict[str, ast.FunctionDef]:
    return {n.name: n for n in stub_tree().body if isinstance(n, ast.FunctionDef)}


def public(names) -> set:
    return {n for n in names if not n.startswith("_")}


def stub_params(f: ast.FunctionDef) -> List[Tuple[str, str, object]]:
    """(name, kind, default) of each parameter but self, as inspect spells them."""
    a = f.args
    out: List[Tuple[str, str, object]] = []
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for arg, d in zip(positional, defaults):
        kind = "POSITIONAL_ONLY" if arg in a.posonlyargs else "POSITIONAL_OR_KEYWORD"
        out.append((arg.arg, kind, ast.literal_eval(d) if d is not None else inspect.Parameter.empty))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append((arg.arg, "KEYWORD_ONLY", ast.literal_eval(d) if d is not None else inspect.Parameter.empty))
    return [p for p in out if p[0] != "self"]


def runtime_params(obj) -> List[Tuple[str, str, object]]:
    sig = inspect.signature(obj)
    return [
        (p.name, p.kind.name, p.default)
        for p in sig.parameters.values()
        if p.name not in ("self", "$self", "cls")
    ]


def test_the_package_is_typed():
    assert (PACKAGE / "py.typed").is_file()
    assert STUB.is_file()


def test_the_stub_names_every_public_name_of_the_module_and_no_other():
    runtime = public(dir(_native)) | {"__version__"}
    stubbed = set(stub_classes()) | set(stub_values()) | set(stub_functions())
    runtime.discard("__version__")
    stubbed.discard("__version__")
    assert hasattr(_native, "__version__") and "__version__" in stub_values()
    assert stubbed == runtime


def test_values_have_the_stubbed_types():
    annotations = {
        n.target.id: ast.unparse(n.annotation)
        for n in stub_tree().body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    for name, annotation in annotations.items():
        # A generic annotation (List[...]) is checked by its container type.
        base = annotation.split("[")[0]
        base = {"List": "list", "Tuple": "tuple", "Dict": "dict"}.get(base, base)
        assert type(getattr(_native, name)).__name__ == base, name


@pytest.mark.parametrize("name", sorted(stub_functions()))
def test_each_function_has_the_stubbed_signature(name):
    actual = runtime_params(getattr(_native, name))
    expected = stub_params(stub_functions()[name])
    assert [(n, k, d) for n, k, d in actual] == expected, name


@pytest.mark.parametrize("name", sorted(stub_classes()))
def test_each_class_has_the_stubbed_members(name):
    cls = getattr(_native, name)
    node = stub_classes()[name]
    stubbed = {}
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            is_property = any(
                isinstance(d, ast.Name) and d.id == "property" for d in item.decorator_list
            )
            stubbed[item.name] = ("property" if is_property else "method", item)
    runtime = {n for n in dir(cls) if not n.startswith("_")}
    assert public(stubbed) == runtime, name
    for member, (kind, item) in stubbed.items():
        value = inspect.getattr_static(cls, member, None)
        assert value is not None, f"{name}.{member} is stubbed but does not exist"
        if kind == "property":
            assert not callable(value) or hasattr(value, "__get__") and not inspect.isroutine(value), (
                f"{name}.{member} is stubbed as a property but is a method"
            )
            assert not inspect.isroutine(value), f"{name}.{member} is a method, stubbed as a property"
            continue
        assert inspect.isroutine(value) or member == "__init__", f"{name}.{member} is not a method"
        target = cls if member == "__init__" else getattr(cls, member)
        try:
            actual = runtime_params(target)
        except (ValueError, TypeError):
            continue  # no text signature (slot wrappers such as __bytes__)
        expected = stub_params(item)
        if member.startswith("__") and member != "__init__" and member != "__exit__":
            continue
        # The stub may spell the native arguments' defaults only where they exist at run time.
        assert [(n, k) for n, k, _ in actual] == [(n, k) for n, k, _ in expected], f"{name}.{member}"
        assert [d for *_, d in actual] == [d for *_, d in expected], f"{name}.{member} defaults"


def test_the_package_and_a_typical_plugin_type_check(tmp_path):
    """mypy --strict on the package (stubs included) and on typing_usage.py."""
    # mypy is a test dependency (pyproject's `test` extra; the Makefile's venv has it): no skip.
    try:
        import mypy.api as mypy
    except ImportError as e:  # pragma: no cover - says what to install
        pytest.fail(f"this test needs mypy (pip install mypy, or pyevents[test]): {e}")
    usage = Path(__file__).resolve().parent / "typing_usage.py"
    for target in (["-p", "pyevents"], [str(usage)]):
        out, err, status = mypy.run(
            ["--strict", "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", *target]
        )
        assert status == 0, out + err
