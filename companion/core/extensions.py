"""Flask extensions, created bare here and attached to the app in ``create_app``."""

from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy

from companion.core.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


# Its Redis message queue (when REDIS_URL is set) is built by create_app and handed in as the
# client manager: this module imports nothing of the app.
socketio = SocketIO()
compress = Compress()
