"""ASGI entry point for uvicorn workers: `uvicorn guanxi.asgi:app`."""

from guanxi.app import create_app

app = create_app()
