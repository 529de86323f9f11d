import logging
from logging.config import fileConfig
from typing import Any

from alembic import context
from flask import current_app
from sqlalchemy import Connection, Engine, MetaData

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def get_engine() -> Engine:
    return current_app.extensions["migrate"].db.engine


def get_engine_url() -> str:
    try:
        return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
    except AttributeError:
        return str(get_engine().url).replace("%", "%%")


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata() -> MetaData:
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def set_sqlite_foreign_keys(connection: Connection, enforce: bool) -> None:
    """Turn SQLite's foreign keys off for the migrations, and back on after them.

    Batch mode copies a table, then drops the old one: with foreign keys on (database.py), that DROP deletes every
    row whose foreign key cascades from it (Alembic's batch docs: the pragma "must be disabled"). The pragma does
    nothing inside a transaction, so it goes straight to the driver, which database.py leaves in autocommit, not
    through SQLAlchemy, which would BEGIN first."""
    connection.rollback()  # end any transaction that autobegan
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if enforce else 'OFF'}")
    if driver.execute("PRAGMA foreign_keys").fetchone()[0] != enforce:
        connection.invalidate()  # never give the pool back a connection in the wrong state
        raise RuntimeError(f"Could not turn SQLite's foreign keys {'on' if enforce else 'off'} for the migrations.")


def check_sqlite_foreign_keys(connection: Connection) -> None:
    """Migrations run without foreign keys must not leave a row pointing at one that is not there."""
    connection.rollback()
    driver = connection.connection.driver_connection
    assert driver is not None
    dangling = sorted({f"{table} -> {parent}" for table, _, parent, _ in driver.execute("PRAGMA foreign_key_check")})
    if dangling:
        raise RuntimeError(f"The migrations left rows whose foreign keys point nowhere: {', '.join(dangling)}.")


def run_migrations_offline() -> None:
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True)

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context: Any, revision: Any, directives: list[Any]) -> None:
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            set_sqlite_foreign_keys(connection, enforce=False)
        try:
            context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)

            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                check_sqlite_foreign_keys(connection)
        finally:
            if sqlite:
                set_sqlite_foreign_keys(connection, enforce=True)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
