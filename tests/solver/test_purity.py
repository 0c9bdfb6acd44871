"""The solver is pure: importing it loads nothing of the project's database, web or CLI layers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("sqlalchemy", "strawberry", "starlette", "uvicorn", "models", "api", "alembic")


def test_importing_the_solver_loads_no_database_or_web_module() -> None:
    """A fresh interpreter importing `pooling.solver` loads none of the forbidden packages or modules."""
    code = "import pooling.solver, pooling.solver.random_network, sys; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    loaded = result.stdout.split()
    assert "pooling.solver" in loaded
    leaked = [m for m in loaded if any(m == name or m.startswith(name + ".") for name in FORBIDDEN)]
    assert leaked == []
