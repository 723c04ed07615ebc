"""Flask extensions, created bare here and attached to the app in ``create_app``."""

from typing import Any

from flask import Flask
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy

from companion.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


class CompanionSocketIO(SocketIO):
    """Flask-SocketIO whose Redis message queue says when it is cut off and makes the rooms
    catch up when it is back (companion/realtime/message_queue.py)."""

    def init_app(self, app: Flask, **kwargs: Any) -> None:
        url = kwargs.get("message_queue")
        if url and url.startswith(("redis://", "rediss://")) and "client_manager" not in kwargs:
            from companion.realtime.message_queue import MessageQueue

            # The channel Flask-SocketIO's own Redis queue uses: any release's processes agree.
            kwargs["client_manager"] = MessageQueue(url, app, channel="flask-socketio")
        super().init_app(app, **kwargs)


socketio = CompanionSocketIO()
compress = Compress()
