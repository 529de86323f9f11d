"""Extension instances only; create_app() binds them with init_app()."""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
migrate = Migrate(render_as_batch=True, compare_type=True)
