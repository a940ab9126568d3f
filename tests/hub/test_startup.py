"""What the web process does at start."""

import subprocess
import sys


def test_the_web_process_sets_its_start_up_objects_apart_from_the_collector():
    # In a process of its own: freezing is for the life of the process.
    shown = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-c", "import gc, hub.wsgi; print(gc.get_freeze_count())"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    frozen = int(shown.stdout.split()[-1])
    # The views are loaded and frozen too, not only the settings and models.
    assert "sharing.workspace.map" in subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import sys, hub.wsgi; print(sorted(sys.modules))"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert frozen > 100_000
