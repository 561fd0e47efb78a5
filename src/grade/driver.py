"""biaslab grade's kernel driver: runs one composed notebook, cell by cell, in the sandboxed Rust kernel.

Usage: python driver.py COMPOSED.ipynb EXECUTED.ipynb KERNEL_NAME CELL_TIMEOUT_SECONDS STARTUP_TIMEOUT_SECONDS

It runs outside the kernel's sandbox (in a network namespace of its own) and writes EXECUTED.ipynb with each
cell's outcome in its metadata, biaslab.status: "ok", "timeout", "kernel died", "not run: ..." or "markdown".
An error inside a cell is an error output, as nbgrader records it; the cell still counts as run. After a timeout
or a dead kernel the rest of the cells are not run.
"""
import os
import sys

import nbformat
from jupyter_client import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError


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
    client = NotebookClient(
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
    if problem:
        nb.metadata["biaslab"] = {"problem": problem}
    partial = executed + ".partial"
    nbformat.write(nb, partial)
    os.replace(partial, executed)


if __name__ == "__main__":
    main()
