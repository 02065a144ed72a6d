"""The bottom layer of the store: the database file, its connections and transactions
(:mod:`povdata.db.connection`) and its schema's migrations (:mod:`povdata.db.migrate`,
Alembic).  Versions (:mod:`povdata.store`), users (:mod:`povdata.auth`) and the audit trail
(:mod:`povdata.audit`) sit on top; the rules of who may do what are pure policy
(:mod:`povdata.policy`) and import none of them."""
from povdata.db.connection import (  # noqa: F401
    _READY, AUTH_MARKER, DB_ERRORS, DB_NAME, Store, StoreError, check_store_file, data_dir, database_url,
    dispose_engines, engine_for, has_store, in_list, is_disk_full, lock, login_name, mark_sign_in, one, open_store,
    q, safe_url, sign_in_recorded, store_key, store_path, transaction, write_error,
)
from povdata.db.migrate import HEAD, MIGRATIONS, SCHEMA_VERSION, MigrationError, fresh_columns, upgrade, upgrade_url  # noqa: F401
