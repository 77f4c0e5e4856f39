"""``manage.py serve``: the development server (use gunicorn in production, see README)."""

from __future__ import annotations

import click

from cli.runtime import Runtime, pass_runtime
from neurostore import migrate
from neurostore.app import create_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option("--debug", is_flag=True, help="Flask debug mode (reloader, tracebacks).")
@click.option("--no-migrate", is_flag=True, help="Do not upgrade the schema first.")
@pass_runtime
def serve(rt: Runtime, host: str, port: int, debug: bool, no_migrate: bool) -> None:
    """Serve the API with Flask's development server (single process)."""
    if not no_migrate:
        migrate.upgrade(rt.url)
    app = create_app(rt.settings, services=rt.services)
    click.echo(f"API on http://{host}:{port}/api  (docs: http://{host}:{port}/api/docs)")
    app.run(host=host, port=port, debug=debug, use_reloader=debug)
