"""The one way data crosses between the learner's process and the grader: JSON lines.

The grader reads what the test run sends through a pipe it created (the run only holds the
writing end, so it can add lines but never take back or rewrite one already sent), and gives
the run its inputs as a JSON file. Both directions use `encode`/`decode`: plain JSON, with a
tensor written as its dtype, shape and values. Nothing the learner's process sends is ever
unpickled or executed by the grader: a malformed value fails the check that expected it.
"""

import json
import math
import os
from pathlib import Path

TENSOR_KEY = "$tensor"
# The dtypes a check may send; anything else is refused when decoding.
DTYPES = ("float32", "float64", "int64", "int32", "uint8", "bool")
# One record (one line) and the whole run are capped, so a flood cannot exhaust the grader.
MAX_LINE_BYTES = 8 * 2**20
MAX_TOTAL_BYTES = 64 * 2**20


class MalformedData(ValueError):
    """A value from the learner's process that is not what the channel's format allows."""


def encode(value):
    """`value` as plain JSON data; tensors (and numpy arrays) become {"$tensor": ...}."""
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "detach"):  # a torch tensor
        tensor = value.detach().cpu()
        if str(tensor.dtype).removeprefix("torch.") not in DTYPES:  # float16, int8, ...
            if tensor.is_complex():
                raise TypeError(f"cannot send a tensor of {tensor.dtype}")
            tensor = tensor.double() if tensor.is_floating_point() else tensor.long()
        return {TENSOR_KEY: {"dtype": str(tensor.dtype).removeprefix("torch."),
                             "shape": list(tensor.shape),
                             "data": encode(tensor.flatten().tolist())}}
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # a numpy array or scalar
        import torch

        return encode(torch.as_tensor(value))
    raise TypeError(f"cannot send a {type(value).__name__} through the channel")


def decode(value):
    """The inverse of `encode`; raises MalformedData for anything it did not make."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {TENSOR_KEY}:
            return decode_tensor(value[TENSOR_KEY])
        if set(value) == {"$float"}:
            if value["$float"] not in ("nan", "inf", "-inf"):
                raise MalformedData(f"not a float: {value['$float']!r}")
            return float(value["$float"])
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    raise MalformedData(f"unexpected {type(value).__name__}")


def decode_tensor(spec):
    import torch

    if not isinstance(spec, dict) or spec.get("dtype") not in DTYPES:
        raise MalformedData(f"a tensor needs one of the dtypes {', '.join(DTYPES)}")
    shape, data = spec.get("shape"), decode(spec.get("data"))
    if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
        raise MalformedData(f"a tensor's shape must be a list of sizes, not {shape!r}")
    if not isinstance(data, list) or math.prod(shape) != len(data):
        raise MalformedData(f"a tensor of shape {shape} needs {math.prod(shape)} values")
    if not all(isinstance(x, (int, float, bool)) for x in data):
        raise MalformedData("a tensor's values must be numbers")
    return torch.tensor(data, dtype=getattr(torch, spec["dtype"])).reshape(shape)


def dump(value) -> str:
    """One line of JSON for `value`."""
    return json.dumps(encode(value), separators=(",", ":"), allow_nan=False)


def load(text: str):
    return decode(json.loads(text))


class Writer:
    """The test run's end of the channel: one JSON object per line, written at once."""

    def __init__(self, fd: int):
        self.fd = fd

    def send(self, **record) -> None:
        line = (dump(record) + "\n").encode()
        if len(line) > MAX_LINE_BYTES:
            line = (dump({"kind": "oversized", "of": record.get("kind"),
                          "bytes": len(line)}) + "\n").encode()
        view = memoryview(line)
        while view:  # a pipe may take a long line in several writes
            view = view[os.write(self.fd, view):]


def read_lines(stream, total_limit: int = MAX_TOTAL_BYTES) -> tuple[list[dict], list[str]]:
    """Every record of a binary stream until it closes, and what was wrong with the rest.

    A line that is not a JSON object, a line over MAX_LINE_BYTES and everything past
    `total_limit` bytes are not records: each is reported instead. No line is ever held in
    memory beyond MAX_LINE_BYTES, and the stream is always read to its end, so the writer is
    never left blocked on a full pipe.
    """
    records, problems, total, number = [], [], 0, 0
    while line := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        total += len(line)
        if len(line) > MAX_LINE_BYTES:
            while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                total += len(rest)
            problems.append(f"line {number} is longer than {MAX_LINE_BYTES // 2**20} MB")
            continue
        if total > total_limit:
            if not problems or "dropped" not in problems[-1]:
                problems.append(f"the channel carried more than {total_limit // 2**20} MB; "
                                f"line {number} and later were dropped")
            continue
        try:
            record = load(line)
        except (ValueError, RecursionError) as error:  # MalformedData is a ValueError
            problems.append(f"line {number} is not a record: {error}")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("kind"), str):
            problems.append(f"line {number} is not a record with a kind")
            continue
        records.append(record)
    return records, problems
