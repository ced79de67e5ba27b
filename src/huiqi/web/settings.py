"""Server settings: environment variables ``HUIQI_*`` or a TOML file (``HUIQI_CONFIG``, default
``huiqi.toml`` in the working directory when present)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUIQI_", extra="ignore")

    db: str | None = None  # None: the embedded SQLite var/huiqi.db (or HUIQI_DB)
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    var_dir: Path = Path("var")  # uploads, job outputs
    session_hours: int = 12
    token_days: int = 30
    login_max_failures: int = 5  # per user name within login_window_minutes
    login_window_minutes: int = 15
    secure_cookies: bool = False  # set behind HTTPS
    inline_worker: bool = False  # run jobs in a thread of the app process (tests, single-process use)
    log_json: bool = True
    max_upload_mb: int = 200

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = Path(os.environ.get("HUIQI_CONFIG", "huiqi.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)
