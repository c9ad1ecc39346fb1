"""Makes `import fmserve` work when an example runs from a source checkout.

An installed package, or PYTHONPATH=<build>/python, wins; otherwise the
package the build generated (<repo>/build/python, or $FMSERVE_PYTHONPATH)
is used, since the source tree alone lacks the generated stubs.
"""

import importlib.util
import os
import sys
from pathlib import Path

if importlib.util.find_spec("fmserve") is None:
    _default = Path(__file__).resolve().parents[3] / "build" / "python"
    sys.path.insert(0, os.environ.get("FMSERVE_PYTHONPATH", str(_default)))
