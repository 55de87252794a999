"""dlcourse.checks: what the test cells call, and what the grader compares with."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.checks import (Difference, as_data, cmp, compare, compare_types, expect_close, expect_equal,
                             rel_error, type_signature)


def test_as_data_normalises_numbers_tensors_and_structures():
    assert as_data(3).shape == () and as_data(3).dtype.kind == "i"
    assert as_data(None) is None and as_data("cat") == "cat"
    t = torch.ones(2, 3, requires_grad=True) * 2
    np.testing.assert_array_equal(as_data(t), np.full((2, 3), 2.0, dtype=np.float32))
    same = as_data([np.zeros(2), np.ones(2)])
    np.testing.assert_array_equal(same, as_data((np.zeros(2), np.ones(2))))
    assert same.shape == (2, 2), "same-shaped arrays stack, from a list or a tuple alike"
    ragged = as_data((np.zeros((2, 3)), np.zeros(3)))
    assert isinstance(ragged, list) and len(ragged) == 2
    assert set(as_data({"m": 1.0, 2: [1, 2]})) == {"m", "2"}
    with pytest.raises(TypeError, match="object"):
        as_data(object())
    with pytest.raises(TypeError):
        as_data(np.array([object()]))


def test_compare_accepts_close_values_and_describes_differences():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert compare(a, a + 1e-12) is None
    message = compare(a, a + np.array([[0, 0], [0, 0.5]]))
    assert "1 of 4 values differ" in message and "[1, 1]" in message and "expected 4.5" in message
    hidden = compare(a, a + 0.5, reveal=False)
    assert "4.5" not in hidden and "max abs diff 0.5" in hidden
    assert "shape (2, 2)" in compare(a, np.zeros((2, 3)))
    assert "dtype" in compare(a.astype(np.float32), a, check_dtype=True)
    assert compare(a.astype(np.float32), a) is None
    assert compare(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])) is None, "nan equals nan"
    assert "nan or inf" in compare(np.array([np.nan, 1.0]), np.array([0.5, 1.0]))
    assert compare(np.array(3), np.array(3.0 + 1e-9), exact=True) is not None
    big = np.array([2**53 + 1], dtype=np.int64)
    assert compare(big, big - 1) is not None, "integers beyond float64's precision still differ"
    assert compare(np.array([2**63 + 5], dtype=np.uint64), np.array([-1])) is not None
    assert compare(np.array([True, False]), np.array([1, 0])) is None


def test_compare_walks_lists_and_dicts():
    grads = [np.zeros((2, 2)), np.ones(3)]
    assert compare(as_data(grads), as_data(grads)) is None
    assert compare(as_data(grads + [np.ones(1)]), as_data(grads)) == "got 3 results, expected 2"
    assert compare(as_data([np.zeros((2, 2)), np.zeros(3)]), as_data(grads)).startswith("[1]: ")
    assert "keys" in compare({"a": np.zeros(1)}, {"b": np.zeros(1)})
    assert "['m']" in compare(as_data({"m": 1.0}), as_data({"m": 2.0}))
    assert compare("relu", "relu") is None and "expected 'relu'" in compare("tanh", "relu")
    assert "expected a number" in compare("1.0", as_data(1.0))


def test_expect_close_and_expect_equal_raise_named_assertion_errors():
    expect_close(np.array([0.1 + 0.2]), np.array([0.3]))
    expect_close(torch.tensor([1.0, 2.0]), [1.0, 2.0], check_type=False)
    with pytest.raises(AssertionError, match=r"^rows sum to 1: "):
        expect_close(np.array([0.9, 1.0]), np.ones(2), name="rows sum to 1")
    expect_equal((2, 3), (2, 3))
    with pytest.raises(AssertionError, match="shape"):
        expect_equal(np.zeros((3, 2)).shape, (2, 3, 1))
    with pytest.raises(AssertionError, match="cannot be compared"):
        expect_close(object(), 1.0, name="a weird result")


def test_rel_error_and_cmp(capsys):
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert rel_error([1.0], [1.1]) == pytest.approx(0.1 / 2.1)
    assert cmp("dW", torch.ones(2), np.ones(2)) is True
    assert cmp("db", np.ones(2), np.zeros(2)) is False
    assert cmp("shape", np.ones(2), np.ones(3)) is False
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("dW") and "exact: True" in out[0] and "max diff: 0.00e+00" in out[0]
    assert "close: False" in out[1] and "shapes differ" in out[2]


@pytest.mark.parametrize("value, signature", [
    (782, "int"), (np.int64(3), "int"), (782.0, "float"), (np.float32(1.5), "float"), (np.array(2.0), "float"),
    (True, "bool"), (np.bool_(False), "bool"), (1j, "complex"), (None, "None"), ("relu", "str"),
    (np.zeros(3), "ndarray"), (torch.zeros(2), "tensor"), (torch.tensor(1.0), "tensor"),
    ([1, 2], {"list": {"each": "int", "n": 2}}), ((1, 2.0), {"tuple": ["int", "float"]}),
    (torch.Size([2, 3]), {"tuple": {"each": "int", "n": 2}}), ([np.zeros(2)], {"list": ["ndarray"]}),
    ({"m": np.zeros(2), "t": 3}, {"dict": {"m": "ndarray", "t": "int"}}),
])
def test_type_signatures_name_containers_and_scalar_kinds(value, signature):
    assert type_signature(value) == signature


@pytest.mark.parametrize("actual, expected, words", [
    (782.0, 782, "got a float, expected an int"),
    ([0.5, 0.5], np.array([0.5, 0.5]), "got a list, expected a numpy array"),
    (torch.tensor(0.5), 0.5, "got a torch tensor, expected a float"),
    (np.array([1.0]), torch.tensor([1.0]), "got a numpy array, expected a torch tensor"),
    ([1, 2], (1, 2), "got a list, expected a tuple"),
    ((np.zeros(2), {"m": [0.0, 0.0]}), (np.zeros(2), {"m": np.zeros(2)}), "[1]['m']: got a list"),
    (1, True, "got an int, expected a bool"),
])
def test_checks_compare_types_by_default(actual, expected, words):
    assert compare(as_data(actual), as_data(expected), exact=True) is None, "the values alone agree"
    for check in (expect_close, expect_equal):
        with pytest.raises(AssertionError) as failure:
            check(actual, expected, name="r")
        assert str(failure.value) == f"r: {words}" or words in str(failure.value)
        check(actual, expected, check_type=False)


def test_scalars_of_one_kind_and_shapes_as_tuples_pass():
    expect_close(np.float32(0.5), 0.5)
    expect_close(np.float64(0.5), np.array(0.5))
    expect_equal(torch.Size([2, 4]), (2, 4))
    expect_equal(np.int64(782), 782)
    expect_close({"m": torch.zeros(2)}, {"m": torch.zeros(2)})


def test_differences_say_what_kind_of_thing_differs():
    a = np.zeros((2, 2))
    kinds = {
        "shape": compare(a, np.zeros((2, 3))), "dtype": compare(a.astype(np.float32), a, check_dtype=True),
        "values": compare(a, a + 1), "nonfinite": compare(a + np.nan, a), "length": compare([a], [a, a]),
        "keys": compare({"m": a}, {"v": a}), "container": compare([a], a),
        "type": compare_types(type_signature([1.0]), type_signature(np.zeros(1))),
    }
    for kind, difference in kinds.items():
        assert isinstance(difference, Difference) and difference.kind == kind, (kind, difference)
