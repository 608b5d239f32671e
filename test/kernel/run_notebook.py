"""Executes a notebook on a Capsule kernel with nbclient, optionally killing the kernel.

    run_notebook.py NOTEBOOK KERNEL_NAME [--kill-after N]

With --kill-after N, the kernel process is killed with SIGKILL after the N-th code cell,
restarted by the kernel manager (as Jupyter's auto-restart does after a death), and the
remaining cells run on the new process. Prints one JSON line: every code cell's outputs
and the pids of the kernel processes it used. Exits non-zero if a cell fails.
"""

import json
import os
import signal
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.util import run_sync


def kernel_pid(client):
    return client.km.provisioner.process.pid


def main():
    path, kernel_name = sys.argv[1], sys.argv[2]
    kill_after = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--kill-after" else None
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=kernel_name, timeout=120, startup_timeout=120)
    pids = []
    code_cells = 0
    with client.setup_kernel():
        pids.append(kernel_pid(client))
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, index)
            code_cells += 1
            if code_cells == kill_after:
                os.kill(kernel_pid(client), signal.SIGKILL)
                run_sync(client.km.restart_kernel)(now=True)
                run_sync(client.kc.wait_for_ready)(timeout=120)
                pids.append(kernel_pid(client))
    outputs = [cell.outputs for cell in nb.cells if cell.cell_type == "code"]
    print(json.dumps({"pids": pids, "outputs": outputs}))


if __name__ == "__main__":
    main()
