"""biaslab grade's kernel driver: runs one composed notebook, cell by cell, in the sandboxed Rust kernel.

Usage: python driver.py COMPOSED.ipynb EXECUTED.ipynb KERNEL_NAME CELL_TIMEOUT_SECONDS STARTUP_TIMEOUT_SECONDS

It runs outside the kernel's sandbox (in a network namespace of its own) and writes EXECUTED.ipynb with each
cell's outcome in its metadata, biaslab.status: "ok", "timeout", "kernel died", "not run: ..." or "markdown".
An error inside a cell is an error output, as nbgrader records it; the cell still counts as run. After a timeout
or a dead kernel the rest of the cells are not run.

A cell keeps at most CELL_OUTPUT_LIMIT bytes of output; past it, only the hidden tests' result lines (the lines
that start with RESULT_PREFIX, up to RESULT_LIMIT bytes) and a cut error are kept, and biaslab.dropped_output says
how many bytes were dropped. The grader sets both (BIASLAB_CELL_OUTPUT_LIMIT, BIASLAB_RESULT_PREFIX).
"""
import json
import os
import sys

import nbformat
from jupyter_client import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError


CELL_OUTPUT_LIMIT = int(os.environ["BIASLAB_CELL_OUTPUT_LIMIT"])
RESULT_PREFIX = os.environ["BIASLAB_RESULT_PREFIX"]
RESULT_LIMIT = 4 << 20
ERROR_LIMIT = 4000


class Client(NotebookClient):
    """nbclient's client with a bound on what each cell's outputs keep (see the module's documentation)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kept = {}
        self.results = {}
        self.dropped = {}
        self.unfinished = {}

    def output(self, outs, msg, display_id, cell_index):
        content = msg["content"]
        size = len(json.dumps(content, default=str))
        kept = self.kept.get(cell_index, 0)
        if kept + size <= CELL_OUTPUT_LIMIT:
            self.kept[cell_index] = kept + size
            return super().output(outs, msg, display_id, cell_index)
        self.dropped[cell_index] = self.dropped.get(cell_index, 0) + size
        if msg["msg_type"] == "error":
            # An error output fails the cell (nbgrader's rule): kept, cut short.
            content = dict(content, evalue=str(content.get("evalue", ""))[:ERROR_LIMIT], traceback=[])
            return super().output(outs, dict(msg, content=content), display_id, cell_index)
        if msg["msg_type"] != "stream" or content.get("name") != "stdout":
            return None
        # Past the limit, standard output keeps only whole result lines (the grader reads them).
        lines = (self.unfinished.get(cell_index, "") + str(content.get("text", ""))).split("\n")
        tail = lines.pop()
        keep = len(tail) < 64 << 10 and (tail.startswith(RESULT_PREFIX) or RESULT_PREFIX.startswith(tail))
        self.unfinished[cell_index] = tail if keep else ""
        found = "".join(line + "\n" for line in lines if line.startswith(RESULT_PREFIX))
        if not found or self.results.get(cell_index, 0) + len(found) > RESULT_LIMIT:
            return None
        self.results[cell_index] = self.results.get(cell_index, 0) + len(found)
        self.dropped[cell_index] -= min(len(found), self.dropped[cell_index])
        # After a newline: what was kept before may end inside a line.
        stream = dict(msg, content={"name": "stdout", "text": "\n" + found})
        return super().output(outs, stream, display_id, cell_index)


class Manager(AsyncKernelManager):
    """A kernel manager whose connection file is the kernel's user's to read: when the grader is root, the kernel
    runs as an unprivileged user (BIASLAB_KERNEL_UID)."""

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        uid = os.environ.get("BIASLAB_KERNEL_UID")
        if uid:
            os.chown(self.connection_file, int(uid), int(uid))


def main():
    composed, executed, kernel, timeout, startup = sys.argv[1:6]
    nb = nbformat.read(composed, as_version=4)
    statuses = ["markdown" if c.cell_type != "code" else "not run: the kernel did not start" for c in nb.cells]
    # The connection file goes where the sandbox can read it (JUPYTER_RUNTIME_DIR), not to a temporary file.
    runtime = os.environ["JUPYTER_RUNTIME_DIR"]
    km = Manager(kernel_name=kernel, connection_file=os.path.join(runtime, "kernel-grade.json"))
    client = Client(
        nb,
        km=km,
        kernel_name=kernel,
        timeout=int(timeout),
        startup_timeout=int(startup),
        allow_errors=True,
        interrupt_on_timeout=False,
        shutdown_kernel="immediate",
        record_timing=True,
    )
    problem = None
    try:
        with client.setup_kernel():
            stop = None
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                if stop:
                    statuses[index] = stop
                    continue
                try:
                    client.execute_cell(cell, index)
                    statuses[index] = "ok"
                except CellTimeoutError:
                    statuses[index] = "timeout"
                    stop = "not run: an earlier cell ran out of time"
                except DeadKernelError:
                    statuses[index] = "kernel died"
                    stop = "not run: the kernel died"
    except Exception as error:  # the kernel failed to start or to shut down
        problem = f"{type(error).__name__}: {error}"
    for index, cell in enumerate(nb.cells):
        cell.metadata["biaslab"] = {"status": statuses[index]}
        if client.dropped.get(index):
            cell.metadata["biaslab"]["dropped_output"] = client.dropped[index]
    if problem:
        nb.metadata["biaslab"] = {"problem": problem}
    partial = executed + ".partial"
    nbformat.write(nb, partial)
    os.replace(partial, executed)


if __name__ == "__main__":
    main()
