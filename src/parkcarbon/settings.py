"""Typed settings of a parkcarbon installation (配置), read from ``PARKCARBON_*`` environment variables.

A leaf module: importable from every layer. Nothing here opens files or sockets.

=====================================  ============================================  ==========================
environment variable                   meaning                                       default
=====================================  ============================================  ==========================
``PARKCARBON_DATA_DIR``                data directory (store, uploads, evidence)     ``./parkcarbon-data``
``PARKCARBON_DATABASE_URL``            SQLAlchemy URL of the store                   ``sqlite:///<data dir>/parkcarbon.sqlite``
``PARKCARBON_SQLITE_SYNCHRONOUS``      SQLite ``synchronous`` pragma (FULL/NORMAL)   ``FULL``
``PARKCARBON_UPLOAD_MAX_BYTES``        upload size limit, as sent [bytes]            20 MiB
``PARKCARBON_UPLOAD_MAX_UNCOMPRESSED_BYTES``  limit after decompression [bytes]      100 MiB
``PARKCARBON_UPLOAD_MAX_COMPRESSION_RATIO``   zip member ratio limit [-]             100
``PARKCARBON_UPLOAD_MAX_ROWS``         rows per upload                               1 000 000
``PARKCARBON_UPLOAD_MAX_FIELD_BYTES``  one CSV field / cell [bytes]                  64 KiB
``PARKCARBON_MQTT_HOST`` / ``_PORT``   broker                                        ``127.0.0.1`` / 1883
``PARKCARBON_MQTT_TOPIC_PREFIX``       topic root (``<prefix>/<tenant>/<gateway>/readings``)  ``parkcarbon``
``PARKCARBON_MQTT_CLIENT_ID``          fixed client id of the subscriber (persistent session)  ``parkcarbon-ingest``
``PARKCARBON_FUTURE_TOLERANCE_S``      readings later than now + this are quarantined [s]   300
``PARKCARBON_CLOCK_SKEW_FLAG_S``       gateway clock offset flagged above [s]        60
``PARKCARBON_COMPLETENESS_MIN_FRAC``   completeness threshold (R12) [fraction]       0.9
``PARKCARBON_DAY_MONTH_TOLERANCE_FRAC``  day-sum vs month-total tolerance [fraction]  0.05
=====================================  ============================================  ==========================
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]

_MIB = 1024 * 1024


class Settings(BaseSettings):
    """All settings; every field can be set by ``PARKCARBON_<FIELD NAME IN CAPITALS>``."""

    model_config = SettingsConfigDict(env_prefix="PARKCARBON_", extra="ignore", frozen=True)

    data_dir: Path = Path("./parkcarbon-data")
    database_url: str = ""
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    sqlite_busy_timeout_s: float = Field(default=60.0, gt=0)

    upload_max_bytes: int = Field(default=20 * _MIB, gt=0)
    upload_max_uncompressed_bytes: int = Field(default=100 * _MIB, gt=0)
    upload_max_compression_ratio: float = Field(default=100.0, gt=1)
    upload_max_rows: int = Field(default=1_000_000, gt=0)
    upload_max_columns: int = Field(default=200, gt=0)
    upload_max_field_bytes: int = Field(default=64 * 1024, gt=0)

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, gt=0, lt=65536)
    mqtt_topic_prefix: str = "parkcarbon"
    mqtt_client_id: str = "parkcarbon-ingest"
    mqtt_keepalive_s: int = Field(default=30, gt=0)
    mqtt_batch_max: int = Field(default=500, gt=0)
    mqtt_batch_wait_s: float = Field(default=0.2, ge=0)

    future_tolerance_s: int = Field(default=300, ge=0)
    clock_skew_flag_s: int = Field(default=60, ge=0)
    local_timezone: str = "Asia/Shanghai"
    completeness_min_frac: float = Field(default=0.9, ge=0, le=1)
    day_month_tolerance_frac: float = Field(default=0.05, ge=0)

    @model_validator(mode="after")
    def _default_database_url(self) -> Settings:
        if not self.database_url:
            url = f"sqlite:///{(self.data_dir / 'parkcarbon.sqlite').as_posix()}"
            object.__setattr__(self, "database_url", url)
        return self

    @property
    def upload_dir(self) -> Path:
        """Where accepted upload files are kept under server-generated names."""
        return self.data_dir / "uploads"

    @property
    def evidence_dir(self) -> Path:
        """Where evidence files (存证) are kept under server-generated names."""
        return self.data_dir / "evidence"


def get_settings(**overrides: object) -> Settings:
    """Read the settings from the environment now (no caching), with explicit overrides."""
    return Settings(**overrides)  # type: ignore[arg-type]
