"""Writing result files (evaluations, benchmarks) as JSON; no JAX import."""
from __future__ import annotations

import json
import os


def write_json(path: str, value) -> None:
  """Writes `value` as indented JSON, atomically (a reader never sees a partial file)."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w") as f:
    json.dump(value, f, indent=1)
    f.write("\n")
  os.replace(tmp, path)
