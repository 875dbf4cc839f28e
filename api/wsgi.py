"""The WSGI entry point: `gunicorn api.wsgi:app`."""

from api.app import create_app
from shared import logs
from shared.settings import get_settings

logs.configure("api", level=get_settings().log_level, fmt=get_settings().log_format)
app = create_app()
