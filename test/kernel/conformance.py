"""Jupyter's official kernel conformance suite (jupyter_kernel_test) against `capsule kernel`.

Run by test/kernel/jupyter-tools.test.ts with /usr/bin/python3; the kernelspec named in
CAPSULE_TEST_KERNEL must be on JUPYTER_PATH and CAPSULE_DIR must point at a scratch store.
"""

import os
import unittest

import jupyter_kernel_test


class CapsuleKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = os.environ["CAPSULE_TEST_KERNEL"]
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("something went wrong")'

    completion_samples = [
        {"text": "Math.P", "matches": {"PI"}},
        {"text": "JSON.str", "matches": {"stringify"}},
    ]
    complete_code_samples = ["1", "const answer: number = 42", "function f() { return 1 }"]
    incomplete_code_samples = ["function f() {", "[1, 2,", "const s = `open"]
    invalid_code_samples = ["const = = 2", "1 +* 2"]

    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "'a' + 'b'", "result": "'ab'"},
        {"code": "[1, 2].map((n) => n * 2)", "result": "[ 2, 4 ]"},
    ]
    code_display_data = [
        {"code": "display({ shown: true })", "mime": "text/plain"},
        {"code": 'display({ "text/html": "<b>bold</b>" }, { raw: true })', "mime": "text/html"},
        {
            "code": 'display({ [Symbol.for("Jupyter.display")]() { return { "image/svg+xml": "<svg/>" } } })',
            "mime": "image/svg+xml",
        },
    ]
    # IPython's clear_output(); in a Capsule cell it is display.clear(wait?).
    code_clear_output = "display.clear()"

    code_history_pattern = "6 ? 7"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "Math.max"


if __name__ == "__main__":
    unittest.main()
