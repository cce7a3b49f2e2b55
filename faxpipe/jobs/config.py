"""The configuration file (TOML) of ``faxpipe serve`` / ``faxpipe worker``.

```toml
[retry]                 # defaults for faxes that do not say (api-contract.md: 3 attempts, 120 s)
max_attempts = 3
delay = 120

[worker]
lease = 60              # seconds a claimed call stays ours without a heartbeat

[api]
max_files = 5           # 1-10 (VoipNow default 5)
max_recipients = 5      # 1-999 (VoipNow default 5)
max_file_bytes = 20971520
max_total_bytes = 67108864

[softmodem]             # the default pair, used only when there is no [[modem]]
rate_scale = 20         # line time runs 20x faster (a one-page fax in seconds); 1 = real V.17 rate

[[modem]]
name = "line1"
device = "/dev/ttyUSB0" # a serial device, or a pyserial / softmodem URL
class = "1"             # "1", "2" or "2.0"
station_id = "+1 555 0100"
max_rate = 14400
ecm = true
quirks = []             # Class 2 / 2.0 only: e.g. ["reverse_tx", "host_rtc"] (drivers.class2.Quirks)
```

With no ``[[modem]]`` (and so with no configuration at all), ``faxpipe serve`` dials through a
software modem pair on an in-process exchange: the far end answers every number and files what
it receives under ``DATA/received/`` (faxpipe.cli.farend). Its line runs ``rate_scale`` times
faster than real time (default 20: a one-page fine text fax takes a few seconds instead of about
a minute); ``rate_scale = 1`` gives the real V.17 line rate.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields

from ..errors import FaxpipeError

RATES = (2400, 4800, 7200, 9600, 12000, 14400)
CLASSES = ("1", "2", "2.0")


class ConfigError(FaxpipeError):
    code = "config_invalid"


@dataclass(frozen=True)
class ModemConfig:
    name: str
    device: str
    fax_class: str = "1"
    station_id: str = ""
    max_rate: int = 14400
    ecm: bool = True
    quirks: tuple[str, ...] = ()   # Class 2 / 2.0 firmware quirks, checked by the driver


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    delay: float = 120.0


@dataclass(frozen=True)
class ApiLimits:
    """What one POST may carry: files (parts named ``files``), recipients, bytes per part and
    in all, and parts of any name."""

    max_files: int = 5
    max_recipients: int = 5
    max_file_bytes: int = 20 << 20
    max_total_bytes: int = 64 << 20
    max_parts: int = 16
    max_request_bytes: int = 64 << 10


@dataclass(frozen=True)
class SoftmodemPair:
    """The default modem pair of ``faxpipe serve`` (used when no ``[[modem]]`` is configured)."""

    rate_scale: float = 20.0


@dataclass(frozen=True)
class Config:
    modems: tuple[ModemConfig, ...] = ()
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limits: ApiLimits = field(default_factory=ApiLimits)
    lease: float = 60.0
    softmodem: SoftmodemPair = field(default_factory=SoftmodemPair)


def _section(cls, table: dict, where: str):
    known = {f.name: f.type for f in fields(cls)}
    unknown = set(table) - set(known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    try:
        return cls(**table)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _modem(index: int, table: dict) -> ModemConfig:
    table = dict(table)
    if "class" in table:
        table["fax_class"] = str(table.pop("class"))
    where = f"[[modem]] #{index + 1}"
    table.setdefault("name", f"modem{index + 1}")
    if "device" not in table:
        raise ConfigError(f"{where}: 'device' is required (a serial device or a softmodem URL)")
    if "quirks" in table:
        quirks = table["quirks"]
        if not isinstance(quirks, list) or not all(isinstance(q, str) for q in quirks):
            raise ConfigError(f"{where}: quirks must be a list of names")
        table["quirks"] = tuple(quirks)
    modem = _section(ModemConfig, table, where)
    if modem.fax_class not in CLASSES:
        raise ConfigError(f"{where}: class must be one of {', '.join(CLASSES)}")
    if modem.max_rate not in RATES:
        raise ConfigError(f"{where}: max_rate must be one of {', '.join(map(str, RATES))}")
    return modem


def parse(data: dict) -> Config:
    unknown = set(data) - {"modem", "retry", "api", "worker", "softmodem"}
    if unknown:
        raise ConfigError(f"unknown section(s) {', '.join(sorted(unknown))}")
    modems = tuple(_modem(i, t) for i, t in enumerate(data.get("modem", [])))
    if len({m.name for m in modems}) != len(modems):
        raise ConfigError("two modems have the same name")
    retry = _section(RetryPolicy, data.get("retry", {}), "[retry]")
    if retry.max_attempts < 1 or retry.delay < 0:
        raise ConfigError("[retry]: max_attempts must be ≥ 1 and delay ≥ 0")
    limits = _section(ApiLimits, data.get("api", {}), "[api]")
    if not 1 <= limits.max_files <= 10 or not 1 <= limits.max_recipients <= 999:
        raise ConfigError("[api]: max_files must be 1-10 and max_recipients 1-999")
    worker = data.get("worker", {})
    if set(worker) - {"lease"}:
        raise ConfigError("[worker]: the only setting is 'lease'")
    pair = _section(SoftmodemPair, data.get("softmodem", {}), "[softmodem]")
    if not isinstance(pair.rate_scale, (int, float)) or not 0 < pair.rate_scale <= 100:
        raise ConfigError("[softmodem]: rate_scale must be a number above 0, at most 100")
    return Config(modems, retry, limits, float(worker.get("lease", 60.0)),
                  SoftmodemPair(float(pair.rate_scale)))


def load(path: str | None) -> Config:
    """The configuration in ``path``, or the defaults (no modems) when ``path`` is None."""
    if path is None:
        return Config()
    try:
        with open(path, "rb") as f:
            return parse(tomllib.load(f))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
