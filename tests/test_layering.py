import pkgutil
import subprocess
import sys
from pathlib import Path

import workflow

ROOT = Path(__file__).parent.parent


def test_the_engine_imports_without_flask():
    modules = [m.name for m in pkgutil.walk_packages(workflow.__path__, "workflow.")]
    assert "workflow.cli" in modules and "workflow.rules.simplify" in modules
    code = (
        "import sys, importlib\n"
        "sys.modules['flask'] = None\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "assert 'flask' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_the_engine_source_never_mentions_the_web_package():
    for path in (ROOT / "workflow").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "from web" not in text and "import web" not in text, path
        assert "import flask" not in text and "from flask" not in text, path
