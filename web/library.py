"""Read-only pages over the model library: every shipped model with its analysis."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template

from workflow.analysis import analyze
from workflow.errors import ModelError
from workflow.report import format_minutes
from workflow.validate import ID_PATTERN
from workflow.yaml_format import load_model

bp = Blueprint("library", __name__)


def _models_dir() -> Path:
    return Path(current_app.config["MODELS_DIR"])


@bp.app_template_filter("minutes")
def _minutes(value: float) -> str:
    return format_minutes(value)


@bp.get("/")
def index() -> str:
    entries = []
    models = (p for p in sorted(_models_dir().glob("*.yaml")) if ID_PATTERN.match(p.stem))
    for path in models:
        try:
            model = load_model(path)
        except ModelError as exc:
            entries.append({"slug": path.stem, "name": path.stem, "error": str(exc)})
            continue
        entries.append(
            {
                "slug": path.stem,
                "name": model.name,
                "description": model.description,
                "processes": [p.name for p in model.processes],
                "error": "",
            }
        )
    return render_template("index.html", entries=entries)


@bp.get("/models/<slug>")
def model(slug: str) -> str:
    if not ID_PATTERN.match(slug):
        abort(404)
    path = _models_dir() / f"{slug}.yaml"
    if not path.is_file():
        abort(404)
    try:
        analysis = analyze(load_model(path), simulation_runs=1000)
    except ModelError as exc:
        return render_template("model_error.html", slug=slug, problems=exc.lines()), 422
    return render_template("model.html", slug=slug, analysis=analysis)
