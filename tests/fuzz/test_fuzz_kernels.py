"""Fuzzing the kernels' shared UTF-8 validator against bytes.decode (docs/fuzzing.md). The
other kernels are fuzzed through their columnar paths, differentially, in the format
targets."""

from __future__ import annotations

from fuzz_targets import ci_test

test_utf8_kernel_agrees_with_bytes_decode = ci_test("utf8_kernel", 500)
